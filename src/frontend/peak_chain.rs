//! The patch chain of a model whose front end is not the product's own
//! ([`FrontEndKind::Aisfx`](crate::params::FrontEndKind::Aisfx)): mono blocks at the source
//! rate → its own resampler (44.1 kHz) → HTK mel power → patches, scaled once the input has
//! ended so that its peak sample is ±1 ([`PatchLevel::FilePeak`]), then compressed.
//!
//! No DC blocker, unlike the product's chain: aiSFX's input as the cross-validation measured it
//! has none, and the blocker's start-up transient and phase shift moved the peak, hence every
//! value, by up to 0.1 (of `log10(1 + 10⁴·S)`, ≈ 1 dB) on a real excerpt. A file that is only
//! a DC offset never gets here: the product's chain (DC-blocked) refuses it as silent first.
//!
//! It runs beside the product's 16 kHz chain, which keeps everything else (silence test, tempo,
//! fingerprint, display overview): those are tuned to its numbers and stored in the index.

use crate::audio::StreamResampler;
use crate::error::Result;
use crate::mel::{MelAnalyzer, MelScale, log_compress};
use crate::params::{AnalysisParams, PatchLevel};
use crate::patches::{Patch, PatchSampler};

/// Patches of one input at a model's own analysis numbers, level set by the input's peak.
pub(super) struct PeakScaledPatches {
    params: AnalysisParams,
    resampler: Option<StreamResampler>,
    mel: MelAnalyzer,
    patches: PatchSampler,
    /// Largest absolute sample after resampling (full scale = 1).
    peak: f32,
}

impl PeakScaledPatches {
    /// A chain for `params` (whose kind sets its level by the file's peak), keeping at most
    /// `max_patches` patches.
    pub(super) fn new(params: AnalysisParams, max_patches: usize) -> Result<Self> {
        debug_assert_eq!(
            crate::params::FrontEndKind::of(&params).patch_level(),
            PatchLevel::FilePeak
        );
        Ok(PeakScaledPatches {
            params,
            resampler: None,
            mel: MelAnalyzer::new(&params, MelScale::Power)?,
            patches: PatchSampler::new(
                params.n_mels,
                params.patch_frames,
                params.patch_hop_frames,
                max_patches,
            ),
            peak: 0.0,
        })
    }

    /// Prepares the resampler from the source's rate, in Hz.
    pub(super) fn start(&mut self, source_rate_hz: u32) -> Result<()> {
        self.resampler = Some(StreamResampler::new(
            source_rate_hz,
            self.params.sample_rate_hz,
        )?);
        Ok(())
    }

    /// Feeds mono samples at the source rate (after [`PeakScaledPatches::start`]).
    pub(super) fn push(&mut self, mono: &[f32]) -> Result<()> {
        let PeakScaledPatches {
            resampler,
            mel,
            patches,
            peak,
            ..
        } = self;
        let resampler = resampler.as_mut().expect("start() is called before push()");
        resampler.push(mono, |block| analyse(mel, patches, peak, block))
    }

    /// Ends the input and returns its patches, each scaled by 1 / peak² in mel power (the
    /// input normalised to a peak of 1, as aiSFX prepares a file) and log-compressed. A silent
    /// input never gets here: the product's chain refuses it first.
    pub(super) fn finish(mut self) -> Result<Vec<Patch>> {
        let PeakScaledPatches {
            resampler,
            mel,
            patches,
            peak,
            ..
        } = &mut self;
        if let Some(r) = resampler.as_mut() {
            r.finish(|block| analyse(mel, patches, peak, block))?;
        }
        mel.finish(|frame| patches.push(frame));
        let gain = if self.peak > 0.0 {
            1.0 / (self.peak * self.peak)
        } else {
            1.0
        };
        let log_gain = self.params.log_gain;
        let mut out = self.patches.finish();
        for patch in &mut out {
            // Zero padding past a short input's end stays 0 (silence) after the compression.
            patch
                .data
                .iter_mut()
                .for_each(|v| *v = log_compress(*v * gain, log_gain));
        }
        Ok(out)
    }
}

/// Tracks the peak of one block of analysis-rate samples and hands its mel power frames to the
/// patch sampler.
fn analyse(mel: &mut MelAnalyzer, patches: &mut PatchSampler, peak: &mut f32, block: &[f32]) {
    *peak = block.iter().fold(*peak, |m, v| m.max(v.abs()));
    mel.push(block, |frame| patches.push(frame));
}
