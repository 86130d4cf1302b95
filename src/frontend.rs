//! The whole front end: encoded bytes or PCM → mono at the analysis rate → log-mel → patches.

use crate::audio::limits::{
    MAX_CHANNELS, MAX_DURATION_SECONDS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ,
};
use crate::audio::{self, DcBlocker, MonoSink, SourceInfo, StreamResampler, downmix_into};
use crate::error::{Error, Result};
use crate::mel::loudness::normalise_and_compress;
use crate::mel::{MelAnalyzer, MelScale, log_compress};
use crate::params::AnalysisParams;
use crate::patches::{MelOverview, OverviewBuilder, Patch, PatchSampler};

/// Most patches analysed per track: 128 patches of ≈3 s cover 6.4 minutes at full density;
/// longer tracks are sampled evenly (see [`PatchSampler`]) so time and memory stay bounded.
pub const DEFAULT_MAX_PATCHES: usize = 128;

/// Most columns of the display spectrogram ([`MelOverview`]).
pub const DEFAULT_OVERVIEW_COLUMNS: usize = 2048;

/// Peak level below which input counts as silence: −80 dBFS.
pub const SILENCE_PEAK: f32 = 1e-4;

/// What the front end extracts from one input.
#[derive(Debug, Clone)]
pub struct Features {
    /// Model inputs in time order.
    pub patches: Vec<Patch>,
    /// A display-sized log-mel picture of the whole input.
    pub overview: MelOverview,
    /// Total log-mel frames of the input (one per hop).
    pub n_frames: usize,
    /// Peak absolute sample value after resampling (full scale = 1).
    pub peak: f32,
    /// What the decoder found.
    pub source: SourceInfo,
}

impl Features {
    /// Duration of the analysed audio, in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.source.duration_seconds()
    }
}

/// Turns audio into [`Features`] with one set of [`AnalysisParams`].
#[derive(Debug, Clone)]
pub struct FrontEnd {
    params: AnalysisParams,
    max_patches: usize,
    overview_columns: usize,
}

impl FrontEnd {
    /// A front end for `params` (validated) with the default patch and overview limits.
    pub fn new(params: AnalysisParams) -> Result<Self> {
        params.validate()?;
        Ok(FrontEnd {
            params,
            max_patches: DEFAULT_MAX_PATCHES,
            overview_columns: DEFAULT_OVERVIEW_COLUMNS,
        })
    }

    /// Changes the most patches kept per track (at least 2).
    pub fn with_max_patches(mut self, max_patches: usize) -> Self {
        self.max_patches = max_patches.max(2);
        self
    }

    /// The analysis numbers in use.
    pub fn params(&self) -> &AnalysisParams {
        &self.params
    }

    /// Features of an encoded file's contents (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A).
    /// `extension` is a hint only.
    pub fn features_from_bytes(&self, bytes: Vec<u8>, extension: Option<&str>) -> Result<Features> {
        let mut pipeline = Pipeline::new(self)?;
        let source = audio::decode_bytes(bytes, extension, &mut pipeline)?;
        pipeline.finish(source)
    }

    /// Features of an audio file on disk, streamed from the file (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn features_from_path(&self, path: &std::path::Path) -> Result<Features> {
        let io_err = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        // An empty file is refused by `features_from_source` (its byte length is 0).
        let file = std::fs::File::open(path).map_err(io_err)?;
        let ext = path.extension().and_then(|e| e.to_str());
        self.features_from_source(Box::new(file), ext)
    }

    /// Features of an encoded file read through any symphonia media source: an open file, or
    /// (in the browser) the caller's bytes read in small pieces, so the whole file never has to
    /// be copied into wasm memory. `extension` is only a hint.
    pub fn features_from_source(
        &self,
        source: Box<dyn symphonia::core::io::MediaSource>,
        extension: Option<&str>,
    ) -> Result<Features> {
        if source.byte_len() == Some(0) {
            return Err(Error::EmptyInput);
        }
        let mut pipeline = Pipeline::new(self)?;
        let source = audio::decode_source(source, extension, &mut pipeline)?;
        pipeline.finish(source)
    }

    /// Features of interleaved PCM samples (full scale ±1) with `channels` channels at
    /// `sample_rate_hz`.
    pub fn features_from_pcm(
        &self,
        interleaved: &[f32],
        sample_rate_hz: u32,
        channels: usize,
    ) -> Result<Features> {
        if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate_hz) {
            return Err(Error::AbsurdAudio(format!(
                "sample rate {sample_rate_hz} Hz is outside {MIN_SAMPLE_RATE_HZ}..={MAX_SAMPLE_RATE_HZ} Hz"
            )));
        }
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(Error::AbsurdAudio(format!(
                "{channels} channels (1..={MAX_CHANNELS} supported)"
            )));
        }
        if interleaved.is_empty() {
            return Err(Error::NoAudio);
        }
        if !interleaved.len().is_multiple_of(channels) {
            return Err(Error::AbsurdAudio(format!(
                "{} samples is not a whole number of {channels}-channel frames",
                interleaved.len()
            )));
        }
        let bad = interleaved.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            let first = interleaved.iter().position(|v| !v.is_finite()).unwrap_or(0);
            return Err(Error::NonFiniteSamples { count: bad, first });
        }
        let mut pipeline = Pipeline::new(self)?;
        pipeline.start(sample_rate_hz, channels)?;
        let mut mono = Vec::new();
        // Feed in blocks so PCM takes the same streaming path as decoded files.
        let block = 4096 * channels;
        for piece in interleaved.chunks(block) {
            downmix_into(piece, channels, &mut mono);
            pipeline.push(&mono)?;
        }
        let frames = (interleaved.len() / channels) as u64;
        let source = SourceInfo {
            codec: "pcm".into(),
            sample_rate_hz,
            channels,
            frames,
            decode_errors: 0,
        };
        pipeline.finish(source)
    }
}

/// Where mel power frames go: the patch sampler keeps power (each patch is loudness-normalised
/// and compressed once it is complete, in [`Pipeline::finish`]); the display overview gets the
/// recording's own log-mel, unnormalised.
struct FrameSinks {
    patches: PatchSampler,
    overview: OverviewBuilder,
    log_gain: f32,
    /// Reused buffer for the compressed copy of each frame.
    log_frame: Vec<f32>,
}

impl FrameSinks {
    fn push(&mut self, power: &[f32]) {
        self.patches.push(power);
        for (out, &p) in self.log_frame.iter_mut().zip(power) {
            *out = log_compress(p, self.log_gain);
        }
        self.overview.push(&self.log_frame);
    }
}

/// Receives mono blocks at the source rate and runs them through resampling, mel and patching.
struct Pipeline {
    params: AnalysisParams,
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
    fn new(front: &FrontEnd) -> Result<Self> {
        let p = front.params;
        Ok(Pipeline {
            params: p,
            resampler: None,
            dc: DcBlocker::new(p.sample_rate_hz),
            scratch: Vec::new(),
            mel: MelAnalyzer::new(&p, MelScale::Power)?,
            frames: FrameSinks {
                patches: PatchSampler::new(
                    p.n_mels,
                    p.patch_frames,
                    p.patch_hop_frames,
                    front.max_patches,
                ),
                overview: OverviewBuilder::new(p.n_mels, front.overview_columns),
                log_gain: p.log_gain,
                log_frame: vec![0.0; p.n_mels],
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
        mel.push(block, |frame| frames.push(frame));
    }

    fn finish(mut self, source: SourceInfo) -> Result<Features> {
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
        mel.finish(|frame| frames.push(frame));
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
        let n_frames = self.frames.patches.frames_seen();
        let mut patches = self.frames.patches.finish();
        let n_mels = self.params.n_mels;
        for patch in &mut patches {
            // Only a short track's single patch has padding: its real frames are all there are.
            let real_frames = (n_frames - patch.start_frame).min(self.params.patch_frames);
            normalise_and_compress(&mut patch.data, real_frames * n_mels, self.params.log_gain);
        }
        Ok(Features {
            patches,
            overview: self.frames.overview.finish(),
            n_frames,
            peak: self.peak,
            source,
        })
    }
}

impl MonoSink for Pipeline {
    fn start(&mut self, sample_rate_hz: u32, _channels: usize) -> Result<()> {
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
