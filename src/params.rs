//! The analysis numbers that every part of the pipeline must agree on.
//!
//! They are defined once here, one set per kind of front end ([`FrontEndKind`]: the product's
//! own, [`AnalysisParams::CURRENT`], and aiSFX's, [`AnalysisParams::AISFX`]), written into the
//! ONNX model's metadata by training and into the index header by the indexer, and checked with
//! [`FrontEndKind::check`] wherever a model or an index is loaded. A mismatch is an error, never
//! a silently wrong answer.

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

/// Which fixed front end turns audio into a model's patches. The analysis numbers are its
/// parameters; the kind fixes what they do not say (mel scale and filter normalisation, how a
/// patch's level is set) and versions it.
///
/// The numbers name the kind: [`AnalysisParams::AISFX`] is only ever computed by
/// [`FrontEndKind::Aisfx`], so an index or a manifest, which store the numbers, need no field
/// of their own for it; a model's metadata names it (`"frontend"`) and must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrontEndKind {
    /// The product's own (the student's): Slaney mel scale with Slaney area normalisation,
    /// every patch loudness-normalised ([`PATCH_LOUDNESS_TARGET`]); version [`FRONTEND_VERSION`].
    #[default]
    Simsong,
    /// aiSFX's (the teacher's, librosa path as the cross-validation measured it): HTK mel scale
    /// with unit-sum filters, 0–22.05 kHz at 44.1 kHz, the whole input scaled to a peak of 1
    /// ([`MelFilters::HtkUnitSum`], [`PatchLevel::FilePeak`]); version [`AISFX_FRONTEND_VERSION`].
    /// aisfx's `/ 9.4578` spectrogram scaling is folded into the model's first convolution.
    Aisfx,
}

/// Version of the [`FrontEndKind::Aisfx`] front end's fixed parts.
pub const AISFX_FRONTEND_VERSION: u32 = 1;

/// Mel scale and filter normalisation of a front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MelFilters {
    /// `librosa.filters.mel(htk=False, norm='slaney')`: unit area in Hz per filter.
    Slaney,
    /// `librosa.filters.mel(htk=True, norm=1)`: HTK scale, each filter's weights sum to 1.
    HtkUnitSum,
}

/// How a patch's level is set before the log compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchLevel {
    /// Each patch's mean mel power scaled to [`PATCH_LOUDNESS_TARGET`].
    Loudness,
    /// The whole input scaled so that its peak sample is ±1 (mel power by 1 / peak²).
    FilePeak,
}

impl FrontEndKind {
    /// The kind whose numbers these are: [`FrontEndKind::Aisfx`] for exactly
    /// [`AnalysisParams::AISFX`], the product's own for any other (valid) numbers.
    pub fn of(params: &AnalysisParams) -> FrontEndKind {
        if *params == AnalysisParams::AISFX {
            FrontEndKind::Aisfx
        } else {
            FrontEndKind::Simsong
        }
    }

    /// Version of this kind's fixed parts; models and indexes record it.
    pub fn version(self) -> u32 {
        match self {
            FrontEndKind::Simsong => FRONTEND_VERSION,
            FrontEndKind::Aisfx => AISFX_FRONTEND_VERSION,
        }
    }

    /// The numbers this build computes for this kind.
    pub fn params(self) -> AnalysisParams {
        match self {
            FrontEndKind::Simsong => AnalysisParams::CURRENT,
            FrontEndKind::Aisfx => AnalysisParams::AISFX,
        }
    }

    /// Mel scale and filter normalisation.
    pub fn mel_filters(self) -> MelFilters {
        match self {
            FrontEndKind::Simsong => MelFilters::Slaney,
            FrontEndKind::Aisfx => MelFilters::HtkUnitSum,
        }
    }

    /// How a patch's level is set.
    pub fn patch_level(self) -> PatchLevel {
        match self {
            FrontEndKind::Simsong => PatchLevel::Loudness,
            FrontEndKind::Aisfx => PatchLevel::FilePeak,
        }
    }

    /// The kind `analysis` (read from a model or an index, named by `source`) belongs to;
    /// errors unless they are exactly the numbers this build computes for it. The caller checks
    /// the recorded version against [`FrontEndKind::version`].
    pub fn checked(analysis: &AnalysisParams, source: &str) -> Result<FrontEndKind> {
        let kind = FrontEndKind::of(analysis);
        kind.params().ensure_matches(analysis, source)?;
        Ok(kind)
    }
}

impl AnalysisParams {
    /// The numbers of the product's own front end (see `DESIGN.md`).
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

    /// The numbers of aiSFX's front end ([`FrontEndKind::Aisfx`]): 44.1 kHz, a 2048-sample
    /// Hann window every 1024 samples (23.2 ms), 96 bands over 0–22.05 kHz, and patches of 129
    /// frames (2.995 s, the student's 2.992 s window as aiSFX's frames cover it), end to end.
    pub const AISFX: AnalysisParams = AnalysisParams {
        sample_rate_hz: 44_100,
        n_fft: 2048,
        hop_length: 1024,
        n_mels: 96,
        fmin_hz: 0.0,
        fmax_hz: 22_050.0,
        log_gain: 10_000.0,
        patch_frames: 129,
        patch_hop_frames: 129,
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

    /// Errors unless `other` (read from a model or an index, named by `source`) equals `self`;
    /// the error names the numbers that differ, with both values.
    pub fn ensure_matches(&self, other: &AnalysisParams, source: &str) -> Result<()> {
        if self == other {
            return Ok(());
        }
        let (mut expected, mut found) = (String::new(), String::new());
        for ((name, a), (_, b)) in self.fields().into_iter().zip(other.fields()) {
            if a != b {
                let sep = if expected.is_empty() { "" } else { ", " };
                expected += &format!("{sep}{name} {a}");
                found += &format!("{sep}{name} {b}");
            }
        }
        Err(Error::ParamsMismatch {
            what: source.to_string(),
            expected,
            found,
        })
    }

    /// Every number with its name (as serialised), for messages. Written out by hand: the
    /// search module would otherwise carry a JSON float writer for this one message.
    fn fields(&self) -> [(&'static str, f64); 9] {
        [
            ("sample_rate_hz", f64::from(self.sample_rate_hz)),
            ("n_fft", self.n_fft as f64),
            ("hop_length", self.hop_length as f64),
            ("n_mels", self.n_mels as f64),
            ("fmin_hz", f64::from(self.fmin_hz)),
            ("fmax_hz", f64::from(self.fmax_hz)),
            ("log_gain", f64::from(self.log_gain)),
            ("patch_frames", self.patch_frames as f64),
            ("patch_hop_frames", self.patch_hop_frames as f64),
        ]
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
        assert!(msg.contains("n_mels 128"), "{msg}");
        assert!(msg.contains("n_mels 96"), "{msg}");
        assert!(!msg.contains("n_fft"), "only what differs is named: {msg}");
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
