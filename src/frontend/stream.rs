//! [`FeatureStream`]: the front end run a piece at a time, so that the browser's worker can
//! report progress and drop the work when a newer search supersedes it.

use symphonia::core::io::MediaSource;

use super::pipeline::Pipeline;
use super::{Features, FrontEnd, feed_pcm, pcm_source_info};
use crate::audio::{MonoSink, StreamDecoder};
use crate::error::Result;

/// Where a [`FeatureStream`]'s audio comes from.
enum Input {
    /// An encoded file, decoded packet by packet.
    Encoded(StreamDecoder),
    /// Interleaved PCM held in memory; `next` is the first sample not yet fed.
    Pcm {
        samples: Vec<f32>,
        sample_rate_hz: u32,
        channels: usize,
        next: usize,
        mono: Vec<f32>,
    },
}

/// Features being computed: call [`FeatureStream::advance`] until it returns `false`, then
/// [`FeatureStream::finish`]. Memory stays bounded whatever the input's length (the pipeline
/// streams; the patch sampler keeps at most its limit of patches).
pub struct FeatureStream {
    pipeline: Pipeline,
    input: Input,
}

impl std::fmt::Debug for FeatureStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureStream")
            .field("fraction_done", &self.fraction_done())
            .finish()
    }
}

impl FeatureStream {
    pub(super) fn decoding(
        front: &FrontEnd,
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
    ) -> Result<Self> {
        Ok(FeatureStream {
            pipeline: Pipeline::new(front)?,
            input: Input::Encoded(StreamDecoder::open(source, extension)?),
        })
    }

    pub(super) fn pcm(
        front: &FrontEnd,
        samples: Vec<f32>,
        sample_rate_hz: u32,
        channels: usize,
    ) -> Result<Self> {
        let mut pipeline = Pipeline::new(front)?;
        pipeline.start(sample_rate_hz, channels)?;
        Ok(FeatureStream {
            pipeline,
            input: Input::Pcm {
                samples,
                sample_rate_hz,
                channels,
                next: 0,
                mono: Vec::new(),
            },
        })
    }

    /// Reads, resamples and analyses about `seconds` more of the input (at least one packet).
    /// Returns `false` once all of it has been read.
    pub fn advance(&mut self, seconds: f64) -> Result<bool> {
        match &mut self.input {
            Input::Encoded(decoder) => decoder.decode_some(&mut self.pipeline, seconds),
            Input::Pcm {
                samples,
                sample_rate_hz,
                channels,
                next,
                mono,
            } => {
                let frames = (seconds * f64::from(*sample_rate_hz)).max(1.0) as usize;
                let end = next
                    .saturating_add(frames.saturating_mul(*channels))
                    .min(samples.len());
                feed_pcm(&mut self.pipeline, &samples[*next..end], *channels, mono)?;
                *next = end;
                Ok(end < samples.len())
            }
        }
    }

    /// How much of the input has been read, 0..=1 (`None` when the source's length is unknown).
    pub fn fraction_done(&self) -> Option<f64> {
        match &self.input {
            Input::Encoded(decoder) => decoder.fraction_done(),
            Input::Pcm { samples, next, .. } => Some(if samples.is_empty() {
                1.0
            } else {
                *next as f64 / samples.len() as f64
            }),
        }
    }

    /// The features, once [`FeatureStream::advance`] has returned `false` (called earlier, the
    /// features cover only what was read so far).
    pub fn finish(self) -> Result<Features> {
        let source = match self.input {
            Input::Encoded(decoder) => decoder.finish()?,
            Input::Pcm {
                samples,
                sample_rate_hz,
                channels,
                ..
            } => pcm_source_info(samples.len(), sample_rate_hz, channels),
        };
        self.pipeline.finish(source)
    }

    /// Reads everything and returns the features.
    pub fn run_to_end(mut self) -> Result<Features> {
        while self.advance(f64::INFINITY)? {}
        self.finish()
    }
}
