//! Decoding, resampling and the front end on real files, and clear errors on bad input.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{cosine, read, test_model};
use simsong::audio::decode_mono;
use simsong::frontend::FrontEnd;
use simsong::{AnalysisParams, Engine, Error};

fn front() -> FrontEnd {
    FrontEnd::new(AnalysisParams::CURRENT).unwrap()
}

#[test]
fn every_supported_format_decodes_with_its_rate_channels_and_length() {
    // (file, codec, frames decoded at 44.1 kHz: exact for lossless, ±encoder padding for lossy)
    let cases = [
        ("real_music_a_44k.wav", "pcm_s16le", 264_600, 0),
        ("real_music_a_44k.flac", "flac", 264_600, 0),
        ("real_music_a_44k.ogg", "vorbis", 264_600, 2_048),
        ("real_music_a_44k.mp3", "mp3", 264_600, 2_500),
        ("real_music_a_44k.m4a", "aac", 264_600, 2_500),
    ];
    for (file, codec, frames, slack) in cases {
        let ext = file.rsplit('.').next();
        let (mono, info) = decode_mono(read(&format!("audio/{file}")), ext).unwrap();
        assert_eq!(info.codec, codec, "{file}");
        assert_eq!((info.sample_rate_hz, info.channels), (44_100, 2), "{file}");
        assert_eq!(mono.len() as u64, info.frames, "{file}");
        let diff = (info.frames as i64 - frames as i64).unsigned_abs();
        assert!(
            diff <= slack,
            "{file}: {} frames, expected {frames} ± {slack}",
            info.frames
        );
        assert_eq!(info.decode_errors, 0, "{file}");
    }
}

#[test]
fn lossless_formats_give_identical_features_and_lossy_ones_close_embeddings() {
    let engine = Engine::from_model_bytes(&test_model()).unwrap();
    let wav = engine
        .analyze_bytes(read("audio/real_music_a_44k.wav"), Some("wav"))
        .unwrap();
    let flac = engine
        .analyze_bytes(read("audio/real_music_a_44k.flac"), Some("flac"))
        .unwrap();
    assert_eq!(
        wav.embedding, flac.embedding,
        "WAV and FLAC hold the same samples"
    );
    for lossy in ["ogg", "mp3", "m4a"] {
        let a = engine
            .analyze_bytes(
                read(&format!("audio/real_music_a_44k.{lossy}")),
                Some(lossy),
            )
            .unwrap();
        let c = cosine(&a.embedding, &wav.embedding);
        assert!(c > 0.999, "{lossy}: cosine to the WAV original {c}");
    }
}

#[test]
fn the_extension_is_only_a_hint() {
    let engine = Engine::from_model_bytes(&test_model()).unwrap();
    let right = engine
        .analyze_bytes(read("audio/real_music_a_44k.ogg"), Some("ogg"))
        .unwrap();
    let wrong = engine
        .analyze_bytes(read("audio/real_music_a_44k.ogg"), Some("mp3"))
        .unwrap();
    let none = engine
        .analyze_bytes(read("audio/real_music_a_44k.ogg"), None)
        .unwrap();
    assert_eq!(right.embedding, wrong.embedding);
    assert_eq!(right.embedding, none.embedding);
}

#[test]
fn resampled_44k_stereo_matches_the_16k_version_of_the_same_music() {
    // The 16 kHz fixture was made from the same excerpt with soxr (a different resampler):
    // the log-mel must agree closely in every band below the new Nyquist frequency.
    let a = front()
        .features_from_bytes(read("audio/real_music_a_44k.wav"), None)
        .unwrap();
    let b = front()
        .features_from_bytes(read("audio/real_music_a_16k.wav"), None)
        .unwrap();
    assert_eq!(a.n_frames, b.n_frames);
    assert_eq!(a.patches.len(), b.patches.len());
    let (pa, pb) = (&a.patches[0].data, &b.patches[0].data);
    let mean_abs = pa.iter().zip(pb).map(|(x, y)| (x - y).abs()).sum::<f32>() / pa.len() as f32;
    assert!(mean_abs < 0.02, "mean abs log-mel difference {mean_abs}");
}

#[test]
fn stereo_is_averaged_and_any_rate_lands_at_16k() {
    // 48 kHz stereo, left 0.5 and right 0.25 in phase: mono is a 0.375 sine.
    let f = front()
        .features_from_bytes(read("audio/synth_sine1k_48k_stereo.wav"), None)
        .unwrap();
    assert!((f.peak - 0.375).abs() < 0.01, "peak {}", f.peak);
    assert_eq!((f.source.sample_rate_hz, f.source.channels), (48_000, 2));
    // 2 s at 16 kHz → 1 + 32000/256 frames.
    assert_eq!(f.n_frames, 126);
    // 8 kHz mono up to 16 kHz: same tone, same band as the 48 kHz file.
    let g = front()
        .features_from_bytes(read("audio/synth_sine1k_8k.wav"), None)
        .unwrap();
    assert_eq!(g.n_frames, 126);
    let band_of_peak = |data: &[f32]| {
        // Middle frame of the patch, band-major layout [96][187].
        (0..96)
            .max_by(|&a, &b| data[a * 187 + 60].total_cmp(&data[b * 187 + 60]))
            .unwrap()
    };
    let (bf, bg) = (
        band_of_peak(&f.patches[0].data),
        band_of_peak(&g.patches[0].data),
    );
    assert_eq!(bf, bg);
    let centre =
        simsong::mel::mel_to_hz(simsong::mel::hz_to_mel(8000.0) * (bf as f64 + 1.0) / 97.0);
    assert!(
        (centre - 1000.0).abs() < 60.0,
        "peak band centred at {centre} Hz"
    );
}

#[test]
fn truncated_mid_stream_keeps_what_was_decoded() {
    let full = read("audio/real_music_a_44k.flac");
    let cut = full[..full.len() * 6 / 10].to_vec();
    let f = front().features_from_bytes(cut, Some("flac")).unwrap();
    let seconds = f.duration_seconds();
    assert!(
        seconds > 2.5 && seconds < 5.5,
        "decoded {seconds} s of a truncated 6 s file"
    );
}

#[test]
fn damaged_mp3_is_decoded_around_the_damage() {
    let f = front()
        .features_from_bytes(read("audio/bad/corrupt.mp3"), Some("mp3"))
        .unwrap();
    assert!(f.duration_seconds() > 5.0, "{}", f.duration_seconds());
}

#[test]
fn bad_files_give_clear_errors() {
    let check = |file: &str, expect: &dyn Fn(&Error) -> bool| {
        let err = front()
            .features_from_bytes(read(&format!("audio/bad/{file}")), file.rsplit('.').next())
            .unwrap_err();
        assert!(expect(&err), "{file}: unexpected error {err:?}");
        assert!(!err.to_string().is_empty());
        err.to_string()
    };
    assert_eq!(
        check("empty.mp3", &|e| matches!(e, Error::EmptyInput)),
        "the file is empty"
    );
    check("text.mp3", &|e| matches!(e, Error::UnsupportedFormat(_)));
    check("header_only.wav", &|e| matches!(e, Error::NoAudio));
    let msg = check("truncated.flac", &|e| {
        matches!(e, Error::CorruptAudio(_) | Error::NoAudio)
    });
    assert!(
        msg.contains("truncated") || msg.contains("no audio"),
        "{msg}"
    );
    check("truncated.ogg", &|e| {
        matches!(e, Error::CorruptAudio(_) | Error::NoAudio)
    });
    let msg = check("silence_16k.wav", &|e| matches!(e, Error::Silent { .. }));
    assert!(msg.contains("silent"), "{msg}");
}

#[test]
fn pcm_input_is_validated() {
    let fe = front();
    let tone: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
    assert!(fe.features_from_pcm(&tone, 16_000, 1).is_ok());
    assert!(matches!(
        fe.features_from_pcm(&[], 16_000, 1),
        Err(Error::NoAudio)
    ));
    assert!(matches!(
        fe.features_from_pcm(&tone, 0, 1),
        Err(Error::AbsurdAudio(_))
    ));
    assert!(matches!(
        fe.features_from_pcm(&tone, 10_000_000, 1),
        Err(Error::AbsurdAudio(_))
    ));
    assert!(matches!(
        fe.features_from_pcm(&tone, 16_000, 0),
        Err(Error::AbsurdAudio(_))
    ));
    assert!(matches!(
        fe.features_from_pcm(&tone[..15_999], 16_000, 2),
        Err(Error::AbsurdAudio(_))
    ));
    let mut nan = tone.clone();
    nan[100] = f32::NAN;
    nan[200] = f32::INFINITY;
    match fe.features_from_pcm(&nan, 16_000, 1) {
        Err(Error::NonFiniteSamples {
            count: 2,
            first: 100,
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        fe.features_from_pcm(&vec![0.0; 16_000], 16_000, 1),
        Err(Error::Silent { .. })
    ));
}

#[test]
fn pcm_and_file_paths_agree() {
    // The same samples through the WAV decoder and through the PCM entry point.
    let (mono, info) = decode_mono(read("audio/real_music_b_16k.wav"), None).unwrap();
    let from_pcm = front()
        .features_from_pcm(&mono, info.sample_rate_hz, 1)
        .unwrap();
    let from_file = front()
        .features_from_bytes(read("audio/real_music_b_16k.wav"), None)
        .unwrap();
    assert_eq!(from_pcm.patches, from_file.patches);
}

#[test]
fn long_input_is_sampled_evenly_within_the_patch_cap() {
    // 20 minutes of a quiet tone with a level ramp: 401 patches would exist; at most 128 are kept.
    let rate = 8_000u32;
    let n = rate as usize * 60 * 20;
    let pcm: Vec<f32> = (0..n)
        .map(|i| (i as f32 * 0.3).sin() * (0.05 + 0.4 * i as f32 / n as f32))
        .collect();
    let f = front().features_from_pcm(&pcm, rate, 1).unwrap();
    assert!(
        f.patches.len() <= 128 && f.patches.len() >= 64,
        "{} patches",
        f.patches.len()
    );
    let last = f.patches.last().unwrap().start_frame as f64 * AnalysisParams::CURRENT.hop_seconds();
    assert!(
        last > 17.0 * 60.0,
        "last patch starts at {last} s: the whole track is covered"
    );
    assert!(f.overview.mel.n_frames() <= 2049);
}

#[test]
fn bad_input_matrix_gives_errors_or_sensible_embeddings() {
    let engine = Engine::from_model_bytes(&test_model()).unwrap();
    let finite_unit = |e: &[f32]| {
        let norm = e.iter().map(|v| v * v).sum::<f32>().sqrt();
        e.iter().all(|v| v.is_finite()) && (norm - 1.0).abs() < 1e-4
    };
    let tone = |rate: u32, channels: usize, seconds: f32| -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .flat_map(|i| {
                let v = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin() * 0.4;
                std::iter::repeat_n(v, channels)
            })
            .collect()
    };
    // Every common rate from 8 kHz to 192 kHz and 1 to 8 channels: same tone, same embedding.
    let reference = engine
        .analyze_pcm(&tone(16_000, 1, 3.0), 16_000, 1)
        .unwrap();
    for rate in [
        8_000, 11_025, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000,
    ] {
        for channels in [1, 2, 6, 8] {
            let a = engine
                .analyze_pcm(&tone(rate, channels, 3.0), rate, channels)
                .unwrap_or_else(|e| panic!("{rate} Hz × {channels}: {e}"));
            assert!(finite_unit(&a.embedding));
            let c = cosine(&a.embedding, &reference.embedding);
            assert!(c > 0.99, "{rate} Hz × {channels} ch: cosine {c}");
        }
    }
    // One second: a single zero-padded patch.
    let short = engine
        .analyze_pcm(&tone(44_100, 2, 1.0), 44_100, 2)
        .unwrap();
    assert_eq!(short.segments.len(), 1);
    assert!(finite_unit(&short.embedding));
    // A DC offset under music, and hard clipping far beyond full scale: analysed, finite.
    let mut dc = tone(16_000, 1, 3.0);
    dc.iter_mut().for_each(|v| *v = 0.5 + 0.3 * *v);
    assert!(finite_unit(
        &engine.analyze_pcm(&dc, 16_000, 1).unwrap().embedding
    ));
    let clipped: Vec<f32> = tone(16_000, 1, 3.0)
        .iter()
        .map(|v| (v * 40.0).clamp(-1.0, 1.0))
        .collect();
    assert!(finite_unit(
        &engine.analyze_pcm(&clipped, 16_000, 1).unwrap().embedding
    ));
    let loud: Vec<f32> = tone(16_000, 1, 3.0).iter().map(|v| v * 1e6).collect();
    assert!(finite_unit(
        &engine.analyze_pcm(&loud, 16_000, 1).unwrap().embedding
    ));
    // Pure DC is not music, but it is not silence either: no panic, a finite embedding.
    let flat = vec![0.25f32; 48_000];
    assert!(finite_unit(
        &engine.analyze_pcm(&flat, 16_000, 1).unwrap().embedding
    ));
}

#[test]
fn a_decoder_panic_is_reported_as_corrupt_audio() {
    // Found by fuzzing: an AAC stream that makes symphonia 0.5.5 index out of bounds.
    let err = front()
        .features_from_bytes(read("audio/bad/fuzz-aac-panic.m4a"), Some("m4a"))
        .unwrap_err();
    assert!(
        err.to_string().contains("the decoder failed on this file"),
        "{err}"
    );
}

#[test]
fn mp4_sample_tables_cannot_request_huge_buffers() {
    // Found by fuzzing: an 8 kB M4A whose sample table declared a 2.9 GB packet.
    let err = front()
        .features_from_bytes(read("audio/bad/fuzz-mp4-oom.m4a"), Some("m4a"))
        .unwrap_err();
    assert!(err.to_string().contains("MP4 sample table"), "{err}");
    // Found by fuzzing too: a `hdlr` box declaring 3.1 GB, which symphonia allocated.
    let err = front()
        .features_from_bytes(read("audio/bad/fuzz-mp4-hdlr-oom.m4a"), Some("m4a"))
        .unwrap_err();
    assert!(err.to_string().contains("MP4 box"), "{err}");
    // And a time-to-sample table (`stts`) claiming entries for 15 GB.
    let err = front()
        .features_from_bytes(read("audio/bad/fuzz-mp4-stts-oom.m4a"), Some("m4a"))
        .unwrap_err();
    assert!(err.to_string().contains("MP4 table `stts`"), "{err}");
    // The real M4A fixture passes the check.
    assert!(
        front()
            .features_from_bytes(read("audio/real_music_a_44k.m4a"), Some("m4a"))
            .is_ok()
    );
}

#[test]
fn flac_metadata_cannot_request_huge_buffers() {
    // Found by fuzzing: a 5 kB file whose metadata made the decoder allocate 2.3 GB.
    let err = front()
        .features_from_bytes(read("audio/bad/fuzz-flac-oom.flac"), Some("flac"))
        .unwrap_err();
    assert!(err.to_string().contains("FLAC metadata"), "{err}");
    // A well-sized PICTURE block whose image claims 3 GB: refused before anything is allocated.
    let real = read("audio/real_music_a_44k.flac");
    let streaminfo = &real[4..4 + 4 + 34];
    let mut picture = Vec::new();
    picture.extend_from_slice(&3u32.to_be_bytes()); // front cover
    picture.extend_from_slice(&9u32.to_be_bytes());
    picture.extend_from_slice(b"image/png");
    picture.extend_from_slice(&0u32.to_be_bytes()); // no description
    picture.extend_from_slice(&[0; 16]);
    picture.extend_from_slice(&3_000_000_000u32.to_be_bytes());
    picture.extend_from_slice(b"tiny");
    let mut file = b"fLaC".to_vec();
    file.extend_from_slice(streaminfo);
    file[4] &= 0x7f; // STREAMINFO is no longer the last block
    let len = picture.len() as u32;
    file.extend_from_slice(&[0x80 | 6, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    file.extend_from_slice(&picture);
    let err = front().features_from_bytes(file, Some("flac")).unwrap_err();
    assert!(
        err.to_string().contains("3000000000 bytes of data"),
        "{err}"
    );
}
