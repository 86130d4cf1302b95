//! The aiSFX front end (`AnalysisParams::AISFX`, the teacher's input; issue #32) against librosa
//! references computed once by `tests/fixtures/make_aisfx_reference.py` (librosa 0.11).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{max_abs_diff, npy2, read};
use simsong::AnalysisParams;
use simsong::audio::decode_mono;
use simsong::frontend::FrontEnd;
use simsong::mel::{MelFilterbank, log_compress, melspectrogram};
use simsong::params::{FrontEndKind, MelFilters};

const CLIP: &str = "audio/real_music_a_44k.wav";

/// Tolerance on `log10(1 + 10000·S)` (values 0..≈6) where the input is the same samples: float32
/// rounding in a 2048-point FFT.
const LOG_MEL_TOLERANCE: f32 = 1e-4;

/// The reference as band-major rows of `[96, frames]`.
fn reference() -> (Vec<f32>, usize) {
    let r = npy2("reference/real_music_a_44k.aisfx.npy");
    assert_eq!(r.shape()[0], 96);
    (r.iter().copied().collect(), r.shape()[1])
}

#[test]
fn numbers_name_the_kind() {
    assert_eq!(
        FrontEndKind::of(&AnalysisParams::AISFX),
        FrontEndKind::Aisfx
    );
    assert_eq!(
        FrontEndKind::of(&AnalysisParams::CURRENT),
        FrontEndKind::Simsong
    );
    AnalysisParams::AISFX.validate().unwrap();
    // 129 frames of 1024 samples at 44.1 kHz: the student's 2.992 s window, end to end.
    assert!((AnalysisParams::AISFX.patch_seconds() - 2.995).abs() < 1e-3);
    let mut near = AnalysisParams::AISFX;
    near.patch_frames = 100;
    assert!(FrontEndKind::checked(&near, "a model").is_err());
}

#[test]
fn htk_filterbank_matches_librosa() {
    let reference = npy2("reference/aisfx_mel_basis.npy");
    assert_eq!(reference.shape(), &[96, 1025]);
    let p = AnalysisParams::AISFX;
    let ours = MelFilterbank::new(
        p.sample_rate_hz,
        p.n_fft,
        p.n_mels,
        (p.fmin_hz, p.fmax_hz),
        MelFilters::HtkUnitSum,
    )
    .to_dense();
    let reference: Vec<f32> = reference.iter().copied().collect();
    let peak = reference.iter().copied().fold(0.0, f32::max);
    let err = max_abs_diff(&ours, &reference);
    println!("HTK filterbank max abs error {err:e} (peak weight {peak:e})");
    assert!(err <= 1e-6 * peak, "filterbank error {err}");
}

#[test]
fn log_mel_of_the_peak_scaled_clip_matches_librosa() {
    let (y, info) = decode_mono(read(CLIP), Some("wav")).unwrap();
    assert_eq!(info.sample_rate_hz, 44_100);
    let peak = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let scaled: Vec<f32> = y.iter().map(|v| v / peak).collect();
    let mel = melspectrogram(&scaled, &AnalysisParams::AISFX).unwrap();
    let (want, frames) = reference();
    assert_eq!(mel.n_frames(), frames);
    let ours: Vec<f32> = mel
        .to_band_major()
        .iter()
        .map(|&s| log_compress(s, 1e4))
        .collect();
    let err = max_abs_diff(&ours, &want);
    let top = want.iter().copied().fold(0.0, f32::max);
    println!("aisfx log-mel max abs error {err:e} (values up to {top:.2})");
    assert!(err <= LOG_MEL_TOLERANCE, "{err}");
    assert!(top > 3.0, "the reference is not trivially small");
}

/// The front end's patches for a model of the aiSFX kind: the file's own 44.1 kHz samples, level
/// set by the file's peak, cut into 129-frame patches end to end: librosa's values, to float
/// rounding.
#[test]
fn front_end_patches_are_librosas_peak_scaled_log_mel() {
    let front = FrontEnd::new(AnalysisParams::AISFX)
        .unwrap()
        .with_fingerprint(true);
    let features = front.features_from_bytes(read(CLIP), Some("wav")).unwrap();
    let (want, frames) = reference();
    assert_eq!(features.patches.len(), frames / 129, "patches end to end");
    let mut worst = 0.0f32;
    for patch in &features.patches {
        assert_eq!(patch.data.len(), 96 * 129);
        for m in 0..96 {
            for t in 0..129 {
                let ours = patch.data[m * 129 + t];
                let theirs = want[m * frames + patch.start_frame + t];
                worst = worst.max((ours - theirs).abs());
            }
        }
    }
    println!("front end vs librosa: max abs {worst:e}");
    assert!(worst <= LOG_MEL_TOLERANCE, "{worst}");
    // Everything but the patches stays at the product's numbers: tempo, fingerprint and the
    // overview are what the index stores and compares.
    assert_eq!(front.signal_params(), AnalysisParams::CURRENT);
    let seconds = features.duration_seconds();
    assert_eq!(
        features.n_frames,
        AnalysisParams::CURRENT.n_frames((seconds * 16_000.0).round() as usize)
    );
    assert!(features.fingerprint.is_some());
    assert_eq!(features.overview.mel.n_mels(), 96);
}

#[test]
fn file_peak_levels_make_a_quieter_copy_identical() {
    let (y, info) = decode_mono(read(CLIP), Some("wav")).unwrap();
    let front = FrontEnd::new(AnalysisParams::AISFX).unwrap();
    let loud = front
        .features_from_pcm(&y, info.sample_rate_hz, 1)
        .unwrap()
        .patches;
    let quiet: Vec<f32> = y.iter().map(|v| v * 0.25).collect(); // -12 dB
    let quiet = front
        .features_from_pcm(&quiet, info.sample_rate_hz, 1)
        .unwrap()
        .patches;
    assert_eq!(loud.len(), quiet.len());
    for (a, b) in loud.iter().zip(&quiet) {
        let err = max_abs_diff(&a.data, &b.data);
        assert!(err < 1e-3, "-12 dB moved a value by {err}");
    }
}

/// A model of the aiSFX kind (a toy one: tests/fixtures/make_aisfx_test_model.py) loads, and its
/// segments are its own 129-frame patches of the 44.1 kHz chain: the embeddings onnx's reference
/// evaluator computes from librosa's log-mel.
#[test]
fn a_model_of_the_aisfx_kind_embeds_its_own_patches() {
    let engine =
        simsong::Engine::from_model_bytes(&read("models/test-aisfx-untrained.onnx")).unwrap();
    assert_eq!(engine.model_metadata().frontend, FrontEndKind::Aisfx);
    assert_eq!(*engine.params(), AnalysisParams::AISFX);
    let analysis = engine.analyze_bytes(read(CLIP), Some("wav")).unwrap();
    let reference: serde_json::Value = serde_json::from_slice(&read(
        "reference/test-aisfx-untrained.real_music_a_44k.json",
    ))
    .unwrap();
    let want = reference["segment_embeddings"].as_array().unwrap();
    assert_eq!(analysis.segments.len(), want.len());
    for (i, (segment, want)) in analysis.segments.iter().zip(want).enumerate() {
        let want: Vec<f32> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let err = max_abs_diff(&segment.embedding, &want);
        println!("segment {i}: max abs difference to the reference evaluator {err:e}");
        assert!(err < 1e-4, "segment {i}: {err}");
        let start = reference["segment_start_seconds"][i].as_f64().unwrap();
        assert!((segment.start_seconds - start).abs() < 1e-9);
    }
}

/// The metadata must name the kind its numbers belong to, and the numbers must be the kind's.
#[test]
fn a_model_contradicting_its_kind_is_refused() {
    let wrong_kind = simsong::Engine::from_model_bytes(&read("models/test-aisfx-wrong-kind.onnx"))
        .unwrap_err()
        .to_string();
    assert!(
        wrong_kind.contains("names the Simsong front end"),
        "{wrong_kind}"
    );
    let wrong_numbers =
        simsong::Engine::from_model_bytes(&read("models/test-aisfx-wrong-numbers.onnx"))
            .unwrap_err();
    assert_eq!(wrong_numbers.code(), "params-mismatch");
    assert!(
        wrong_numbers.to_string().contains("patch_frames 187"),
        "{wrong_numbers}"
    );
}
