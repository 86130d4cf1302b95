//! The streaming chain behind [`super::FrontEnd`]: mono blocks at the source rate → resampling →
//! DC removal → mel power frames → patches (loudness-normalised, compressed) and the display
//! overview. A model with a front end of another kind gets its patches from a second chain
//! beside this one ([`super::peak_chain`]); this one then keeps the rest at the product's
//! numbers.

use crate::audio::limits::MAX_DURATION_SECONDS;
use crate::audio::{DcBlocker, MonoSink, SourceInfo, StreamResampler};
use crate::error::{Error, Result};
use crate::mel::loudness::normalise_and_compress;
use crate::mel::{MelAnalyzer, MelScale, log_compress};
use crate::params::{AnalysisParams, FrontEndKind, PatchLevel};
use crate::patches::{OverviewBuilder, PatchSampler};
use crate::tempo::{OnsetStrength, TempoEstimate};
use crate::versions::{Fingerprint, PeakPicker};

use super::peak_chain::PeakScaledPatches;
use super::{Features, FrontEnd, SILENCE_PEAK};

/// Where mel power frames go: the patch sampler keeps power (each patch is loudness-normalised
/// and compressed once it is complete, in [`Pipeline::finish`]), unless the model's patches
/// come from their own chain; the display overview gets the recording's own log-mel,
/// unnormalised; the onset envelope (tempo) its frame-to-frame rises.
struct FrameSinks {
    patches: Option<PatchSampler>,
    frames_seen: usize,
    overview: OverviewBuilder,
    onsets: OnsetStrength,
    log_gain: f32,
    /// Reused buffer for the compressed copy of each frame.
    log_frame: Vec<f32>,
    /// The fingerprint's peaks, from the STFT's power frames (when asked for).
    peaks: Option<PeakPicker>,
}

impl FrameSinks {
    fn push(&mut self, stft_power: &[f32], power: &[f32]) {
        if let Some(peaks) = self.peaks.as_mut() {
            peaks.push(stft_power);
        }
        if let Some(patches) = self.patches.as_mut() {
            patches.push(power);
        }
        self.frames_seen += 1;
        self.onsets.push(power);
        for (out, &p) in self.log_frame.iter_mut().zip(power) {
            *out = log_compress(p, self.log_gain);
        }
        self.overview.push(&self.log_frame);
    }
}

/// Receives mono blocks at the source rate and runs them through resampling, mel and patching.
pub(super) struct Pipeline {
    /// The numbers of this chain: the model's when its front end is the product's own,
    /// otherwise the product's ([`FrontEnd::signal_params`]).
    params: AnalysisParams,
    /// The model's patches when they come from a front end of another kind.
    model_patches: Option<PeakScaledPatches>,
    resampler: Option<StreamResampler>,
    dc: DcBlocker,
    /// Reused buffer for the DC-blocked copy of each block.
    scratch: Vec<f32>,
    mel: MelAnalyzer,
    frames: FrameSinks,
    peak: f32,
    frames_in: u64,
    max_frames_in: u64,
}

impl Pipeline {
    pub(super) fn new(front: &FrontEnd) -> Result<Self> {
        let p = front.signal_params();
        let own_patches = FrontEndKind::of(&front.params).patch_level() == PatchLevel::Loudness;
        let model_patches = if own_patches {
            None
        } else {
            Some(PeakScaledPatches::new(front.params, front.max_patches)?)
        };
        Ok(Pipeline {
            params: p,
            model_patches,
            resampler: None,
            dc: DcBlocker::new(p.sample_rate_hz),
            scratch: Vec::new(),
            mel: MelAnalyzer::new(&p, MelScale::Power)?,
            frames: FrameSinks {
                patches: own_patches.then(|| {
                    PatchSampler::new(
                        p.n_mels,
                        p.patch_frames,
                        p.patch_hop_frames,
                        front.max_patches,
                    )
                }),
                frames_seen: 0,
                overview: OverviewBuilder::new(p.n_mels, front.overview_columns),
                onsets: OnsetStrength::new(p.n_mels),
                log_gain: p.log_gain,
                log_frame: vec![0.0; p.n_mels],
                peaks: front
                    .fingerprint
                    .then(|| PeakPicker::new(p.sample_rate_hz, p.n_fft, p.hop_length)),
            },
            peak: 0.0,
            frames_in: 0,
            max_frames_in: 0,
        })
    }

    /// Hands analysis-rate samples, DC offset removed, to the mel analyser, and its frames on.
    /// The peak (silence test) is taken after DC removal: a constant offset is not sound.
    fn analyse(
        (dc, scratch): (&mut DcBlocker, &mut Vec<f32>),
        mel: &mut MelAnalyzer,
        frames: &mut FrameSinks,
        peak: &mut f32,
        block: &[f32],
    ) {
        scratch.clear();
        scratch.extend_from_slice(block);
        dc.process(scratch);
        let block = &scratch[..];
        *peak = block.iter().fold(*peak, |m, v| m.max(v.abs()));
        mel.push_with_power(block, |stft, frame| frames.push(stft, frame));
    }

    pub(super) fn finish(mut self, source: SourceInfo) -> Result<Features> {
        let Pipeline {
            resampler,
            dc,
            scratch,
            mel,
            frames,
            peak,
            ..
        } = &mut self;
        if let Some(r) = resampler.as_mut() {
            r.finish(|block| Self::analyse((dc, scratch), mel, frames, peak, block))?;
        }
        mel.finish_with_power(|stft, frame| frames.push(stft, frame));
        if self.frames_in == 0 {
            return Err(Error::NoAudio);
        }
        if self.peak < SILENCE_PEAK {
            let peak_dbfs = if self.peak > 0.0 {
                20.0 * self.peak.log10()
            } else {
                f32::NEG_INFINITY
            };
            return Err(Error::Silent { peak_dbfs });
        }
        let n_frames = self.frames.frames_seen;
        let fingerprint = self
            .frames
            .peaks
            .take()
            .map(|peaks| Fingerprint::from_picker(peaks, n_frames as u32));
        let patches = match (self.frames.patches.take(), self.model_patches.take()) {
            (_, Some(chain)) => chain.finish()?,
            (Some(sampler), None) => {
                let mut patches = sampler.finish();
                let n_mels = self.params.n_mels;
                for patch in &mut patches {
                    // Only a short track's single patch has padding: its real frames are all
                    // there are.
                    let real_frames = (n_frames - patch.start_frame).min(self.params.patch_frames);
                    normalise_and_compress(
                        &mut patch.data,
                        real_frames * n_mels,
                        self.params.log_gain,
                    );
                }
                patches
            }
            (None, None) => unreachable!("a pipeline has one patch source"),
        };
        let tempo = TempoEstimate::from_onsets(
            &self.frames.onsets.finish(),
            1.0 / self.params.hop_seconds(),
        );
        Ok(Features {
            patches,
            tempo,
            overview: self.frames.overview.finish(),
            n_frames,
            peak: self.peak,
            source,
            fingerprint,
        })
    }
}

impl MonoSink for Pipeline {
    fn start(&mut self, sample_rate_hz: u32, _channels: usize) -> Result<()> {
        if let Some(chain) = self.model_patches.as_mut() {
            chain.start(sample_rate_hz)?;
        }
        self.resampler = Some(StreamResampler::new(
            sample_rate_hz,
            self.params.sample_rate_hz,
        )?);
        self.max_frames_in = (MAX_DURATION_SECONDS * f64::from(sample_rate_hz)) as u64;
        Ok(())
    }

    fn push(&mut self, mono: &[f32]) -> Result<()> {
        self.frames_in += mono.len() as u64;
        if self.frames_in > self.max_frames_in {
            return Err(Error::AbsurdAudio(format!(
                "the audio is longer than {} hours",
                MAX_DURATION_SECONDS / 3600.0
            )));
        }
        if let Some(i) = mono.iter().position(|v| !v.is_finite()) {
            return Err(Error::CorruptAudio(format!(
                "decoded sample {} is not a finite number",
                self.frames_in as usize - mono.len() + i
            )));
        }
        if let Some(chain) = self.model_patches.as_mut() {
            chain.push(mono)?;
        }
        let Pipeline {
            resampler,
            dc,
            scratch,
            mel,
            frames,
            peak,
            ..
        } = self;
        let resampler = resampler.as_mut().expect("start() is called before push()");
        resampler.push(mono, |block| {
            Self::analyse((dc, scratch), mel, frames, peak, block)
        })
    }
}
