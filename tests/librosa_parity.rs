//! The log-mel front end against librosa reference values computed once by
//! `tests/fixtures/make_audio_fixtures.py` (librosa 0.11, float32).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{fixture, max_abs_diff, npy2, read};
use simsong::AnalysisParams;
use simsong::audio::decode_mono;
use simsong::mel::{MelFilterbank, PowerStft, log_mel_spectrogram};

/// Tolerance on the log-mel (`log10(1 + 10000·S)`, values 0..≈6). The issue asks for 1e-3;
/// measured: at most 5.8e-6 natively (float32 rounding in the FFT), so 5e-5 leaves headroom
/// for other SIMD paths without hiding a real front-end change.
const LOG_MEL_TOLERANCE: f32 = 5e-5;

const PARITY_CLIPS: [&str; 6] = [
    "synth_sine440_16k",
    "synth_chirp_16k",
    "synth_noise_16k",
    "synth_clicks_16k",
    "real_music_a_16k",
    "real_music_b_16k",
];

fn samples(clip: &str) -> Vec<f32> {
    let (y, info) = decode_mono(read(&format!("audio/{clip}.wav")), Some("wav")).unwrap();
    assert_eq!(
        info.sample_rate_hz, 16_000,
        "{clip} must be a 16 kHz parity clip"
    );
    y
}

#[test]
fn mel_filterbank_matches_librosa() {
    let reference = npy2("reference/mel_basis.npy");
    let p = AnalysisParams::CURRENT;
    let ours = MelFilterbank::new(
        p.sample_rate_hz,
        p.n_fft,
        p.n_mels,
        (p.fmin_hz, p.fmax_hz),
        simsong::params::MelFilters::Slaney,
    )
    .to_dense();
    assert_eq!(reference.shape(), &[96, 257]);
    let reference: Vec<f32> = reference.iter().copied().collect();
    let peak = reference.iter().copied().fold(0.0, f32::max);
    let err = max_abs_diff(&ours, &reference);
    println!("filterbank max abs error {err:e} (peak weight {peak:e})");
    assert!(err <= 1e-6 * peak, "filterbank error {err}");
}

#[test]
fn power_spectrogram_matches_librosa_stft() {
    let reference = npy2("reference/synth_chirp_16k.power.npy"); // [257, frames]
    let y = samples("synth_chirp_16k");
    let mut stft = PowerStft::new(512, 256);
    let mut frames: Vec<Vec<f32>> = Vec::new();
    stft.push(&y, |p| frames.push(p.to_vec()));
    stft.finish(|p| frames.push(p.to_vec()));
    assert_eq!(frames.len(), reference.shape()[1]);
    let peak = reference.iter().copied().fold(0.0, f32::max);
    let mut worst = 0.0f32;
    for (t, frame) in frames.iter().enumerate() {
        for (k, &v) in frame.iter().enumerate() {
            worst = worst.max((v - reference[[k, t]]).abs());
        }
    }
    println!("power spectrum max abs error {worst:e} relative to peak {peak:e}");
    assert!(worst <= 1e-5 * peak, "power error {worst} vs peak {peak}");
}

#[test]
fn log_mel_matches_librosa_on_synthetic_and_real_clips() {
    let p = AnalysisParams::CURRENT;
    for clip in PARITY_CLIPS {
        let reference = npy2(&format!("reference/{clip}.logmel.npy")); // [96, frames]
        let y = samples(clip);
        let ours = log_mel_spectrogram(&y, &p).unwrap();
        assert_eq!(ours.n_mels(), 96, "{clip}");
        assert_eq!(ours.n_frames(), reference.shape()[1], "{clip}: frame count");
        let reference_band_major: Vec<f32> = reference.iter().copied().collect();
        let err = max_abs_diff(&ours.to_band_major(), &reference_band_major);
        let max_value = reference_band_major.iter().copied().fold(0.0, f32::max);
        println!("{clip}: log-mel max abs error {err:e} (values up to {max_value:.2})");
        assert!(
            err <= LOG_MEL_TOLERANCE,
            "{clip}: max abs error {err} > {LOG_MEL_TOLERANCE}"
        );
        assert!(max_value > 1.0, "{clip}: reference is not trivially zero");
    }
}

#[test]
fn reference_fixtures_exist() {
    // Guards against a silently empty parity test if fixtures are renamed.
    for clip in PARITY_CLIPS {
        assert!(
            fixture(&format!("reference/{clip}.logmel.npy")).exists(),
            "{clip}"
        );
    }
}
