//! The whole front end: encoded bytes or PCM → mono at the analysis rate → log-mel → patches,
//! all at once or a piece at a time ([`FeatureStream`]).

mod peak_chain;
mod pipeline;
mod stream;

pub use stream::FeatureStream;

use crate::audio::limits::{MAX_CHANNELS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};
use crate::audio::{MonoSink, SourceInfo, downmix_into};
use crate::error::{Error, Result};
use crate::params::{AnalysisParams, FrontEndKind};
use crate::patches::{MelOverview, Patch};
use crate::tempo::TempoEstimate;
use crate::versions::Fingerprint;
use pipeline::Pipeline;

/// Most patches analysed per track: 128 patches of ≈3 s cover 6.4 minutes at full density;
/// longer tracks are sampled evenly (see [`crate::patches::PatchSampler`]) so time and memory stay bounded.
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
    /// The input's tempo, from the onsets of its mel frames.
    pub tempo: TempoEstimate,
    /// A display-sized log-mel picture of the whole input.
    pub overview: MelOverview,
    /// Total log-mel frames of the input (one per hop of [`FrontEnd::signal_params`]).
    pub n_frames: usize,
    /// Peak absolute sample value after resampling (full scale = 1).
    pub peak: f32,
    /// What the decoder found.
    pub source: SourceInfo,
    /// The landmarks version detection compares ([`crate::versions`]), when the front end
    /// was asked for them ([`FrontEnd::with_fingerprint`]).
    pub fingerprint: Option<Fingerprint>,
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
    fingerprint: bool,
}

impl FrontEnd {
    /// A front end for `params` (validated) with the default patch and overview limits.
    pub fn new(params: AnalysisParams) -> Result<Self> {
        params.validate()?;
        Ok(FrontEnd {
            params,
            max_patches: DEFAULT_MAX_PATCHES,
            overview_columns: DEFAULT_OVERVIEW_COLUMNS,
            fingerprint: false,
        })
    }

    /// Also computes the track's [`Fingerprint`] (spectral-peak landmarks, from the same
    /// power frames as the mel; [`Features::fingerprint`]).
    pub fn with_fingerprint(mut self, on: bool) -> Self {
        self.fingerprint = on;
        self
    }

    /// Changes the most patches kept per track (at least 2).
    pub fn with_max_patches(mut self, max_patches: usize) -> Self {
        self.max_patches = max_patches.max(2);
        self
    }

    /// Changes the most columns of the display spectrogram (at least 2); `usize::MAX` keeps
    /// one column per frame: the full-resolution log-mel.
    pub fn with_overview_columns(mut self, columns: usize) -> Self {
        self.overview_columns = columns.max(2);
        self
    }

    /// The analysis numbers of the model's patches ([`Features::patches`]; their frames and
    /// seconds).
    pub fn params(&self) -> &AnalysisParams {
        &self.params
    }

    /// The analysis numbers of everything else the front end computes (tempo, fingerprint,
    /// display overview, [`Features::n_frames`]): the model's own when its front end is the
    /// product's, otherwise the product's ([`AnalysisParams::CURRENT`]), to which tempo and
    /// version detection are tuned and which the index stores them at.
    pub fn signal_params(&self) -> AnalysisParams {
        match FrontEndKind::of(&self.params) {
            FrontEndKind::Simsong => self.params,
            FrontEndKind::Aisfx => AnalysisParams::CURRENT,
        }
    }

    /// Features of an encoded file's contents (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A).
    /// `extension` is a hint only.
    pub fn features_from_bytes(&self, bytes: Vec<u8>, extension: Option<&str>) -> Result<Features> {
        if bytes.is_empty() {
            return Err(Error::EmptyInput);
        }
        self.features_from_source(Box::new(std::io::Cursor::new(bytes)), extension)
    }

    /// Features of an audio file on disk, streamed from the file (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn features_from_path(&self, path: &std::path::Path) -> Result<Features> {
        let io_err = |source| Error::io(path, source);
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
        self.stream_source(source, extension)?.run_to_end()
    }

    /// Features of interleaved PCM samples (full scale ±1) with `channels` channels at
    /// `sample_rate_hz`.
    pub fn features_from_pcm(
        &self,
        interleaved: &[f32],
        sample_rate_hz: u32,
        channels: usize,
    ) -> Result<Features> {
        check_pcm(interleaved, sample_rate_hz, channels)?;
        let mut pipeline = Pipeline::new(self)?;
        pipeline.start(sample_rate_hz, channels)?;
        let mut mono = Vec::new();
        feed_pcm(&mut pipeline, interleaved, channels, &mut mono)?;
        pipeline.finish(pcm_source_info(interleaved.len(), sample_rate_hz, channels))
    }

    /// Starts computing the features of an encoded source a piece at a time (see
    /// [`FeatureStream`]); the container's headers are read and checked here.
    pub fn stream_source(
        &self,
        source: Box<dyn symphonia::core::io::MediaSource>,
        extension: Option<&str>,
    ) -> Result<FeatureStream> {
        FeatureStream::decoding(self, source, extension)
    }

    /// Starts computing the features of interleaved PCM (full scale ±1) a piece at a time.
    pub fn stream_pcm(
        &self,
        interleaved: Vec<f32>,
        sample_rate_hz: u32,
        channels: usize,
    ) -> Result<FeatureStream> {
        check_pcm(&interleaved, sample_rate_hz, channels)?;
        FeatureStream::pcm(self, interleaved, sample_rate_hz, channels)
    }
}

/// Refuses PCM the product cannot analyse, before any work.
fn check_pcm(interleaved: &[f32], sample_rate_hz: u32, channels: usize) -> Result<()> {
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
    Ok(())
}

/// Feeds interleaved PCM to the pipeline in blocks, so PCM takes the same streaming path as
/// decoded files.
fn feed_pcm(
    pipeline: &mut Pipeline,
    interleaved: &[f32],
    channels: usize,
    mono: &mut Vec<f32>,
) -> Result<()> {
    for piece in interleaved.chunks(4096 * channels) {
        downmix_into(piece, channels, mono);
        pipeline.push(mono)?;
    }
    Ok(())
}

fn pcm_source_info(samples: usize, sample_rate_hz: u32, channels: usize) -> SourceInfo {
    SourceInfo {
        codec: "pcm".into(),
        sample_rate_hz,
        channels,
        frames: (samples / channels) as u64,
        decode_errors: 0,
    }
}
