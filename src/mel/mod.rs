//! The log-mel front end: power STFT → mel bands (Slaney, or HTK for aiSFX's front end) →
//! `log10(1 + gain · S)`.
//!
//! Model patches are loudness-normalised before the compression ([`loudness`]).
//!
//! Vocabulary follows librosa: [`melspectrogram`] returns mel *power*, [`log_mel_spectrogram`]
//! the compressed values the model consumes. [`MelAnalyzer`] does the same work on a stream of
//! samples, so an hour of audio never has to sit in memory.

mod filterbank;
pub mod loudness;
pub(crate) mod stft;
mod window;

pub use filterbank::{MelFilterbank, hz_to_mel, hz_to_mel_htk, mel_to_hz, mel_to_hz_htk};
pub use stft::PowerStft;
pub use window::hann_periodic;

use crate::error::Result;
use crate::params::{AnalysisParams, FrontEndKind};

/// A mel spectrogram: `n_frames` frames of `n_mels` bands, stored frame by frame.
#[derive(Debug, Clone, PartialEq)]
pub struct MelSpectrogram {
    n_mels: usize,
    /// Frame-major values: `data[t * n_mels + m]` is band `m` of frame `t`.
    data: Vec<f32>,
}

impl MelSpectrogram {
    /// Wraps frame-major values (`data.len()` must be a multiple of `n_mels`).
    pub fn from_frames(n_mels: usize, data: Vec<f32>) -> Self {
        assert!(
            n_mels > 0 && data.len().is_multiple_of(n_mels),
            "data is not whole frames"
        );
        MelSpectrogram { n_mels, data }
    }

    /// Number of mel bands per frame.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Number of frames (one per hop).
    pub fn n_frames(&self) -> usize {
        self.data.len() / self.n_mels
    }

    /// The `n_mels` values of frame `t`.
    pub fn frame(&self, t: usize) -> &[f32] {
        &self.data[t * self.n_mels..(t + 1) * self.n_mels]
    }

    /// All values, frame-major (`[n_frames][n_mels]`).
    pub fn frames(&self) -> &[f32] {
        &self.data
    }

    /// All values band-major (`[n_mels][n_frames]`), the layout librosa returns and images use.
    pub fn to_band_major(&self) -> Vec<f32> {
        let n_frames = self.n_frames();
        let mut out = vec![0.0; self.data.len()];
        for (t, frame) in self.data.chunks_exact(self.n_mels).enumerate() {
            for (m, &v) in frame.iter().enumerate() {
                out[m * n_frames + t] = v;
            }
        }
        out
    }
}

/// Whether [`MelAnalyzer`] returns mel power or log-compressed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MelScale {
    /// Mel-band power, as `librosa.feature.melspectrogram(power=2.0)`.
    Power,
    /// `log10(1 + log_gain · power)`, the model's input.
    Log,
}

/// The log compression used by the product: `log10(1 + gain · power)`.
///
/// Unlike decibels it is 0 for silence and needs no floor, so padding with zeros means silence.
pub fn log_compress(power: f32, gain: f32) -> f32 {
    (1.0 + gain * power).log10()
}

/// Streaming mel analysis at the rate and settings of an [`AnalysisParams`].
///
/// Push mono samples in pieces of any size; each completed frame (`n_mels` values) is handed
/// to a callback, so callers decide what to keep.
pub struct MelAnalyzer {
    stft: PowerStft,
    filterbank: MelFilterbank,
    scale: MelScale,
    log_gain: f32,
    bands: Vec<f32>,
}

impl MelAnalyzer {
    /// Prepares the FFT plan, window and filterbank for `params` (validated first), with the
    /// filters of the front end the numbers belong to ([`FrontEndKind::of`]).
    pub fn new(params: &AnalysisParams, scale: MelScale) -> Result<Self> {
        params.validate()?;
        Ok(MelAnalyzer {
            stft: PowerStft::new(params.n_fft, params.hop_length),
            filterbank: MelFilterbank::new(
                params.sample_rate_hz,
                params.n_fft,
                params.n_mels,
                (params.fmin_hz, params.fmax_hz),
                FrontEndKind::of(params).mel_filters(),
            ),
            scale,
            log_gain: params.log_gain,
            bands: vec![0.0; params.n_mels],
        })
    }

    /// Number of mel bands per frame.
    pub fn n_mels(&self) -> usize {
        self.filterbank.n_mels()
    }

    /// Feeds mono samples at `params.sample_rate_hz` and calls `emit` with each completed frame.
    pub fn push(&mut self, samples: &[f32], mut emit: impl FnMut(&[f32])) {
        let (fb, scale, gain, bands) =
            (&self.filterbank, self.scale, self.log_gain, &mut self.bands);
        self.stft.push(samples, |power| {
            emit(project(fb, scale, gain, power, bands))
        });
    }

    /// Pads the end of the signal and emits the remaining frames.
    pub fn finish(&mut self, mut emit: impl FnMut(&[f32])) {
        self.finish_with_power(|_, mel| emit(mel));
    }

    /// As [`MelAnalyzer::push`], with each frame's power spectrum (`n_fft / 2 + 1` bins, |X|²)
    /// beside its mel bands: `emit(power, mel)`.
    pub fn push_with_power(&mut self, samples: &[f32], mut emit: impl FnMut(&[f32], &[f32])) {
        let (fb, scale, gain, bands) =
            (&self.filterbank, self.scale, self.log_gain, &mut self.bands);
        self.stft.push(samples, |power| {
            emit(power, project(fb, scale, gain, power, bands))
        });
    }

    /// As [`MelAnalyzer::finish`], with each frame's power spectrum (see
    /// [`MelAnalyzer::push_with_power`]).
    pub fn finish_with_power(&mut self, mut emit: impl FnMut(&[f32], &[f32])) {
        let (fb, scale, gain, bands) =
            (&self.filterbank, self.scale, self.log_gain, &mut self.bands);
        self.stft
            .finish(|power| emit(power, project(fb, scale, gain, power, bands)));
    }
}

fn project<'a>(
    fb: &MelFilterbank,
    scale: MelScale,
    gain: f32,
    power: &[f32],
    bands: &'a mut [f32],
) -> &'a [f32] {
    fb.apply(power, bands);
    if scale == MelScale::Log {
        bands.iter_mut().for_each(|v| *v = log_compress(*v, gain));
    }
    bands
}

fn collect(samples: &[f32], params: &AnalysisParams, scale: MelScale) -> Result<MelSpectrogram> {
    let mut analyzer = MelAnalyzer::new(params, scale)?;
    let mut data = Vec::with_capacity(params.n_frames(samples.len()) * params.n_mels);
    analyzer.push(samples, |frame| data.extend_from_slice(frame));
    analyzer.finish(|frame| data.extend_from_slice(frame));
    Ok(MelSpectrogram::from_frames(params.n_mels, data))
}

/// Mel power spectrogram of mono `samples` at `params.sample_rate_hz`, as librosa computes it.
pub fn melspectrogram(samples: &[f32], params: &AnalysisParams) -> Result<MelSpectrogram> {
    collect(samples, params, MelScale::Power)
}

/// Log-compressed mel spectrogram (the model's input) of mono `samples` at
/// `params.sample_rate_hz`.
pub fn log_mel_spectrogram(samples: &[f32], params: &AnalysisParams) -> Result<MelSpectrogram> {
    collect(samples, params, MelScale::Log)
}
