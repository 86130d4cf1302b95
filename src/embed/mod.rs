//! The engine: front end + model → a track's embedding, its segments and its head outputs,
//! all at once or a step at a time ([`AnalysisJob`]).

mod excerpt;
mod job;

pub use excerpt::segments_between;
pub use job::{AnalysisJob, AnalysisStage, JobProgress, StepBudget};

use serde::Serialize;

use crate::audio::SourceInfo;
use crate::error::{Error, Result};
use crate::frontend::{Features, FrontEnd};
use crate::model::{Model, ModelMetadata, PatchOutputs, l2_normalize};
use crate::params::AnalysisParams;
use crate::patches::MelOverview;
use crate::tempo::TempoEstimate;
use crate::versions::Fingerprint;

/// The embedding of one stretch (patch) of a track.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// Where the patch starts, in seconds from the start of the track.
    pub start_seconds: f64,
    /// L2-normalised patch embedding.
    pub embedding: Vec<f32>,
}

/// A classification head's verdict on the whole track.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadSummary {
    /// Output name (e.g. `"instrument"`).
    pub output: String,
    /// Class names.
    pub classes: Vec<String>,
    /// Mean class probability over the track's patches.
    pub probabilities: Vec<f32>,
}

/// Everything the engine says about one input.
#[derive(Debug, Clone)]
pub struct TrackAnalysis {
    /// Track embedding: mean of the patch embeddings, L2-normalised.
    pub embedding: Vec<f32>,
    /// Per-patch embeddings with their start times, in time order.
    pub segments: Vec<Segment>,
    /// Head outputs averaged over the track.
    pub heads: Vec<HeadSummary>,
    /// The track's tempo (beats per minute, confidence, sections where it changes).
    pub tempo: TempoEstimate,
    /// A display-sized log-mel spectrogram of the input.
    pub overview: MelOverview,
    /// What the decoder found (rate, channels, duration).
    pub source: SourceInfo,
    /// The audio's fingerprint, when the front end was asked for one
    /// ([`FrontEnd::with_fingerprint`]): what tells a version of a track from a look-alike.
    pub fingerprint: Option<Fingerprint>,
}

/// Computes embeddings for audio with one model. The same code runs natively and in wasm.
#[derive(Debug)]
pub struct Engine {
    front: FrontEnd,
    model: Model,
}

impl Engine {
    /// Loads the model from ONNX bytes and sets up the matching front end.
    pub fn from_model_bytes(model_bytes: &[u8]) -> Result<Self> {
        Self::from_model(Model::from_bytes(model_bytes)?)
    }

    /// Wraps an already loaded model.
    pub fn from_model(model: Model) -> Result<Self> {
        let front = FrontEnd::new(model.metadata().analysis)?;
        Ok(Engine { front, model })
    }

    /// Changes the most patches analysed per track (at least 2; default
    /// [`crate::frontend::DEFAULT_MAX_PATCHES`]): a cap on a large model's cost per track.
    pub fn with_max_patches(mut self, max_patches: usize) -> Self {
        self.front = self.front.with_max_patches(max_patches);
        self
    }

    /// The analysis numbers in use (those of the model).
    pub fn params(&self) -> &AnalysisParams {
        self.front.params()
    }

    /// The model's metadata.
    pub fn model_metadata(&self) -> &ModelMetadata {
        self.model.metadata()
    }

    /// The model itself.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model's SHA-256 (hex).
    pub fn model_sha256(&self) -> &str {
        self.model.sha256()
    }

    /// The front end, for callers that only need features.
    pub fn front_end(&self) -> &FrontEnd {
        &self.front
    }

    /// Analyses an encoded file's contents; `extension` is a hint only.
    pub fn analyze_bytes(&self, bytes: Vec<u8>, extension: Option<&str>) -> Result<TrackAnalysis> {
        self.analyze_features(self.front.features_from_bytes(bytes, extension)?)
    }

    /// Analyses an encoded file read through a symphonia media source (see
    /// [`FrontEnd::features_from_source`]).
    pub fn analyze_source(
        &self,
        source: Box<dyn symphonia::core::io::MediaSource>,
        extension: Option<&str>,
    ) -> Result<TrackAnalysis> {
        self.analyze_features(self.front.features_from_source(source, extension)?)
    }

    /// Analyses an audio file on disk (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn analyze_path(&self, path: &std::path::Path) -> Result<TrackAnalysis> {
        self.analyze_features(self.front.features_from_path(path)?)
    }

    /// Analyses interleaved PCM (full scale ±1).
    pub fn analyze_pcm(
        &self,
        interleaved: &[f32],
        sample_rate_hz: u32,
        channels: usize,
    ) -> Result<TrackAnalysis> {
        self.analyze_features(self.front.features_from_pcm(
            interleaved,
            sample_rate_hz,
            channels,
        )?)
    }

    /// Starts analysing an encoded source a step at a time (see [`AnalysisJob`]).
    pub fn start_source(
        &self,
        source: Box<dyn symphonia::core::io::MediaSource>,
        extension: Option<&str>,
    ) -> Result<AnalysisJob> {
        Ok(AnalysisJob::new(
            self.front.stream_source(source, extension)?,
            self,
        ))
    }

    /// Starts analysing interleaved PCM (full scale ±1) a step at a time.
    pub fn start_pcm(
        &self,
        interleaved: Vec<f32>,
        sample_rate_hz: u32,
        channels: usize,
    ) -> Result<AnalysisJob> {
        let stream = self
            .front
            .stream_pcm(interleaved, sample_rate_hz, channels)?;
        Ok(AnalysisJob::new(stream, self))
    }

    /// Runs the model on features computed by [`FrontEnd`].
    pub fn analyze_features(&self, features: Features) -> Result<TrackAnalysis> {
        if features.patches.is_empty() {
            return Err(Error::NoAudio);
        }
        let outputs = self.model.run(&features.patches)?;
        Ok(self.assemble(features, outputs))
    }

    /// A track's analysis from its features and the model's outputs for all of its patches.
    fn assemble(&self, features: Features, outputs: PatchOutputs) -> TrackAnalysis {
        let dim = self.model.metadata().embedding_dim;
        let mut embedding = vec![0.0f32; dim];
        for e in &outputs.embeddings {
            embedding.iter_mut().zip(e).for_each(|(acc, v)| *acc += v);
        }
        l2_normalize(&mut embedding);
        let hop_seconds = self.params().hop_seconds();
        let segments = features
            .patches
            .iter()
            .zip(outputs.embeddings)
            .map(|(patch, embedding)| Segment {
                start_seconds: patch.start_frame as f64 * hop_seconds,
                embedding,
            })
            .collect();
        let heads = self
            .model
            .metadata()
            .heads
            .iter()
            .zip(outputs.head_probabilities)
            .map(|(head, per_patch)| {
                let mut mean = vec![0.0f32; head.classes.len()];
                for probs in &per_patch {
                    mean.iter_mut().zip(probs).for_each(|(acc, p)| *acc += p);
                }
                let n = per_patch.len() as f32;
                mean.iter_mut().for_each(|m| *m /= n);
                HeadSummary {
                    output: head.output.clone(),
                    classes: head.classes.clone(),
                    probabilities: mean,
                }
            })
            .collect();
        TrackAnalysis {
            embedding,
            segments,
            heads,
            tempo: features.tempo,
            overview: features.overview,
            source: features.source,
            fingerprint: features.fingerprint,
        }
    }
}
