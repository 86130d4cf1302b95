//! The analysis numbers that every part of the pipeline must agree on.
//!
//! They are defined once here ([`AnalysisParams::CURRENT`]), written into the ONNX model's
//! metadata by training and into the index header by the indexer, and checked with
//! [`AnalysisParams::ensure_matches`] wherever a model or an index is loaded. A mismatch is an
//! error, never a silently wrong answer.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Sample rate, STFT, mel and patch settings of the log-mel front end.
///
/// The front end is librosa's
/// `melspectrogram(sr, n_fft, hop_length, n_mels, fmin, fmax, power=2, htk=False,
/// norm='slaney', center=True, pad_mode='constant', window='hann')` followed by
/// `log10(1 + log_gain · S)`. The window shape, centring and Slaney normalisation are fixed by
/// the code and versioned by [`FRONTEND_VERSION`](crate::params::FRONTEND_VERSION).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisParams {
    /// Rate all audio is resampled to before analysis, in Hz.
    pub sample_rate_hz: u32,
    /// FFT and Hann window length, in samples.
    pub n_fft: usize,
    /// Distance between successive STFT frames, in samples.
    pub hop_length: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest mel filter edge, in Hz.
    pub fmin_hz: f32,
    /// Highest mel filter edge, in Hz (at most `sample_rate_hz / 2`).
    pub fmax_hz: f32,
    /// Gain inside the log compression `log10(1 + log_gain · power)`; dimensionless.
    pub log_gain: f32,
    /// Length of one model input patch, in STFT frames.
    pub patch_frames: usize,
    /// Distance between the starts of successive patches, in STFT frames.
    pub patch_hop_frames: usize,
}

/// Version of the fixed parts of the front end (DC blocking, window, centring, filter
/// normalisation, loudness normalisation). Bump it when their definition changes, so that old
/// models and indexes are rejected. Version 2 added the DC blocker ([`DC_BLOCK_CUTOFF_HZ`]);
/// version 3 the per-patch loudness normalisation ([`PATCH_LOUDNESS_TARGET`]).
pub const FRONTEND_VERSION: u32 = 3;

/// Mean mel power (over all bands and frames of one patch) that every patch is scaled to
/// before the log compression, so that a patch's model input does not depend on the gain of
/// the recording (`log10(1 + g·S)` is not gain-invariant). Dimensionless: mel power of a
/// full-scale sine is about 3. 0.3 is typical of mastered music (patches of the Debian game
/// music and the test fixtures measured 0.1-0.9), so the log compression's knee stays where
/// the music already put it.
pub const PATCH_LOUDNESS_TARGET: f32 = 0.3;

/// Quietest mean mel power a patch is scaled up from (≈ 60 dB below
/// [`PATCH_LOUDNESS_TARGET`]): quieter patches (fades, near silence) get the same gain as a
/// patch at this level instead of having their noise floor blown up to full loudness. Gains of
/// −20..+6 dB leave every patch louder than −40 dB below the target exactly invariant.
pub const PATCH_LOUDNESS_FLOOR: f32 = PATCH_LOUDNESS_TARGET * 1e-6;

/// Cutoff of the one-pole high-pass that removes a DC offset from the analysis-rate samples
/// before the log-mel, in Hz (see `audio::DcBlocker`).
pub const DC_BLOCK_CUTOFF_HZ: f64 = 5.0;

impl AnalysisParams {
    /// The numbers this build of the product uses (see `DESIGN.md`).
    pub const CURRENT: AnalysisParams = AnalysisParams {
        sample_rate_hz: 16_000,
        n_fft: 512,
        hop_length: 256,
        n_mels: 96,
        fmin_hz: 0.0,
        fmax_hz: 8_000.0,
        log_gain: 10_000.0,
        patch_frames: 187,
        patch_hop_frames: 187,
    };

    /// Number of frequency bins of one STFT frame (`n_fft / 2 + 1`).
    pub fn n_freqs(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Duration of one hop, in seconds.
    pub fn hop_seconds(&self) -> f64 {
        self.hop_length as f64 / f64::from(self.sample_rate_hz)
    }

    /// Duration covered by one patch, in seconds (`patch_frames` hops).
    pub fn patch_seconds(&self) -> f64 {
        self.patch_frames as f64 * self.hop_seconds()
    }

    /// Number of STFT frames librosa produces for `n_samples` samples with `center=True`.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        1 + n_samples / self.hop_length
    }

    /// Checks that the numbers describe a front end this code can compute.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidParams(why));
        if !(8_000..=48_000).contains(&self.sample_rate_hz) {
            return bad(format!(
                "sample rate {} Hz is outside 8000..=48000",
                self.sample_rate_hz
            ));
        }
        if !(64..=8192).contains(&self.n_fft) || !self.n_fft.is_power_of_two() {
            return bad(format!(
                "n_fft {} is not a power of two in 64..=8192",
                self.n_fft
            ));
        }
        if self.hop_length == 0 || self.hop_length > self.n_fft {
            return bad(format!("hop {} must be in 1..=n_fft", self.hop_length));
        }
        if !(1..=512).contains(&self.n_mels) {
            return bad(format!("n_mels {} is outside 1..=512", self.n_mels));
        }
        let nyquist = self.sample_rate_hz as f32 / 2.0;
        if !(self.fmin_hz >= 0.0 && self.fmin_hz < self.fmax_hz && self.fmax_hz <= nyquist) {
            return bad(format!(
                "mel range {}..{} Hz must satisfy 0 <= fmin < fmax <= {nyquist}",
                self.fmin_hz, self.fmax_hz
            ));
        }
        if !(self.log_gain.is_finite() && self.log_gain > 0.0) {
            return bad(format!("log gain {} must be positive", self.log_gain));
        }
        if !(1..=10_000).contains(&self.patch_frames)
            || !(1..=self.patch_frames).contains(&self.patch_hop_frames)
        {
            return bad(format!(
                "patch of {} frames with hop {} is not valid",
                self.patch_frames, self.patch_hop_frames
            ));
        }
        Ok(())
    }

    /// Errors unless `other` (read from a model or an index, named by `source`) equals `self`.
    pub fn ensure_matches(&self, other: &AnalysisParams, source: &str) -> Result<()> {
        if self == other {
            return Ok(());
        }
        Err(Error::ParamsMismatch {
            what: source.to_string(),
            expected: serde_json::to_string(self).unwrap_or_default(),
            found: serde_json::to_string(other).unwrap_or_default(),
        })
    }
}

impl Default for AnalysisParams {
    fn default() -> Self {
        Self::CURRENT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_params_are_valid_and_match_design() {
        let p = AnalysisParams::CURRENT;
        p.validate().unwrap();
        assert_eq!(p.n_freqs(), 257);
        assert!((p.patch_seconds() - 2.992).abs() < 1e-9);
        assert_eq!(p.n_frames(16_000), 63);
    }

    #[test]
    fn mismatch_names_the_source_and_both_values() {
        let mut other = AnalysisParams::CURRENT;
        other.n_mels = 128;
        let err = AnalysisParams::CURRENT
            .ensure_matches(&other, "model test.onnx")
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("model test.onnx"), "{msg}");
        assert!(msg.contains("\"n_mels\":128"), "{msg}");
        assert!(msg.contains("\"n_mels\":96"), "{msg}");
    }

    #[test]
    fn nonsense_params_are_rejected() {
        let mut p = AnalysisParams::CURRENT;
        p.n_fft = 500;
        assert!(p.validate().is_err());
        let mut p = AnalysisParams::CURRENT;
        p.fmax_hz = 9_000.0;
        assert!(p.validate().is_err());
        let mut p = AnalysisParams::CURRENT;
        p.patch_hop_frames = 0;
        assert!(p.validate().is_err());
    }
}
