//! Version detection on committed real-music fixtures (`tests/fixtures/audio`): a file is a
//! version of its re-encodings, of itself shifted by less than a frame, slowed down or
//! sped up, turned down, or cut; it is not a version of another piece of music.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use simsong::AnalysisParams;
use simsong::frontend::FrontEnd;
use simsong::versions::{Comparison, Fingerprint, compare, compare_either};

fn front() -> FrontEnd {
    FrontEnd::new(AnalysisParams::CURRENT)
        .unwrap()
        .with_fingerprint(true)
}

fn fixture(name: &str) -> Fingerprint {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audio")
        .join(name);
    front()
        .features_from_path(&path)
        .unwrap()
        .fingerprint
        .unwrap()
}

/// The fixture's 44.1 kHz samples (mono, 16-bit WAV).
fn samples_44k() -> Vec<f32> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio/real_music_a_44k.wav");
    let (samples, info) =
        simsong::audio::decode_mono(std::fs::read(path).unwrap(), Some("wav")).unwrap();
    assert_eq!(info.sample_rate_hz, 44_100);
    samples
}

fn of_pcm(samples: &[f32]) -> Fingerprint {
    front()
        .features_from_pcm(samples, 44_100, 1)
        .unwrap()
        .fingerprint
        .unwrap()
}

fn assert_version(c: &Comparison, what: &str) {
    assert!(
        c.is_version(),
        "{what} should be a version: coverage {:.2}, peak share {:.2}, {} landmarks lined up",
        c.coverage,
        c.peak_share,
        c.inliers
    );
}

#[test]
fn re_encodings_are_versions() {
    let wav = fixture("real_music_a_44k.wav");
    assert!(
        wav.landmarks.len() > 100 && wav.peaks.len() > 40,
        "{} landmarks",
        wav.landmarks.len()
    );
    for other in [
        "real_music_a_44k.mp3",
        "real_music_a_44k.ogg",
        "real_music_a_44k.m4a",
        "real_music_a_44k.flac",
    ] {
        let (c, _) = compare_either(&wav, &fixture(other));
        assert_version(&c, other);
        assert!(
            (c.tempo_ratio - 1.0).abs() < 0.003,
            "{other}: tempo {}",
            c.tempo_ratio
        );
        assert!(
            c.pitch_semitones.abs() < 0.1,
            "{other}: pitch {}",
            c.pitch_semitones
        );
    }
}

#[test]
fn another_piece_is_not_a_version() {
    let a = fixture("real_music_a_16k.wav");
    let b = fixture("real_music_b_16k.wav");
    for (q, r) in [(&a, &b), (&b, &a)] {
        let c = compare(q, r);
        assert!(
            !c.is_version(),
            "coverage {:.2}, peak share {:.2}",
            c.coverage,
            c.peak_share
        );
        assert!(c.peak_share < 0.1, "peak share {:.2}", c.peak_share);
    }
}

#[test]
fn a_shift_of_part_of_a_frame_gain_and_a_cut_keep_a_version() {
    let y = samples_44k();
    let original = of_pcm(&y);
    // 2.3 ms later: every STFT frame sees other samples (a frame is 16 ms).
    let shifted: Vec<f32> = std::iter::repeat_n(0.0, 101)
        .chain(y.iter().copied())
        .collect();
    assert_version(
        &compare(&original, &of_pcm(&shifted)),
        "shifted by 101 samples",
    );
    // 12 dB quieter: the same peaks, so the same landmarks.
    let quieter: Vec<f32> = y.iter().map(|v| v * 0.25).collect();
    let c = compare(&original, &of_pcm(&quieter));
    assert_version(&c, "12 dB quieter");
    assert!(c.peak_share > 0.95, "peak share {:.2}", c.peak_share);
    // The middle 3 s, found where they are (from 1.5 s).
    let cut = &y[66_150..66_150 + 132_300];
    let c = compare(&of_pcm(cut), &original);
    assert_version(&c, "the middle 3 s");
    let at = c.alignments[0].reference_span.0 - c.alignments[0].query_span.0;
    assert!((at - 1.5).abs() < 0.05, "found at {at:.3} s, cut at 1.5 s");
}

#[test]
fn three_percent_faster_and_higher_is_a_version_with_its_tempo_and_pitch() {
    let y = samples_44k();
    // Played 3% fast (a tape sped up: tempo and pitch together): resampled to 44100 / 1.03
    // and read at 44.1 kHz.
    let fast = simsong::audio::resample(&y, 44_100, 42_816).unwrap();
    let c = compare(&of_pcm(&fast), &of_pcm(&y));
    assert_version(&c, "3% fast");
    // Reference time per query time: the original is 3% slower.
    assert!(
        (c.tempo_ratio - 1.03).abs() < 0.006,
        "tempo ratio {}",
        c.tempo_ratio
    );
    // log2(1.03) · 12 = 0.51 semitones lower in the reference.
    assert!(
        (c.pitch_semitones + 0.51).abs() < 0.12,
        "pitch {}",
        c.pitch_semitones
    );
}
