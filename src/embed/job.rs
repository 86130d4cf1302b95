//! [`AnalysisJob`]: one input's analysis cut into short steps. The browser's worker runs a step,
//! reports progress, lets newer messages in, and drops the job when a newer search supersedes
//! it; natively the same job runs to the end in one go ([`AnalysisJob::run_to_end`]).

use serde::Serialize;

use super::{Engine, TrackAnalysis};
use crate::error::{Error, Result};
use crate::frontend::{FeatureStream, Features};
use crate::model::PatchOutputs;

/// What one [`AnalysisJob::step`] may do before it returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepBudget {
    /// Source audio read, decoded and turned into mel frames per step, in seconds.
    pub audio_seconds: f64,
    /// Patches run through the model per step.
    pub patches: usize,
}

impl StepBudget {
    /// No limit: each stage in one step.
    pub const UNLIMITED: StepBudget = StepBudget {
        audio_seconds: f64::INFINITY,
        patches: usize::MAX,
    };
}

impl Default for StepBudget {
    /// About 20-60 ms per step in a browser (30 s of a 44.1 kHz MP3 decodes and analyses in
    /// ~40 ms, a patch runs in ~8 ms): progress moves smoothly and a superseded job stops
    /// within a frame or two.
    fn default() -> Self {
        StepBudget {
            audio_seconds: 10.0,
            patches: 4,
        }
    }
}

/// Where an [`AnalysisJob`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnalysisStage {
    /// Decoding the audio and computing its log-mel patches.
    Decode,
    /// Running the model on the patches.
    Analysis,
    /// Finished (the result was taken, or the job failed).
    Done,
}

/// A progress report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct JobProgress {
    /// The stage in progress.
    pub stage: AnalysisStage,
    /// Done of that stage, 0..=1; `None` when the input's length is unknown.
    pub fraction: Option<f64>,
}

enum State {
    // Boxed: the stream's state (decoder, resampler, mel buffers) and the features (overview,
    // tempo) are large; a job moves rarely.
    Decoding(Box<FeatureStream>),
    Modelling {
        features: Box<Features>,
        outputs: PatchOutputs,
    },
    Done,
}

/// One input's analysis in steps: call [`AnalysisJob::step`] until it returns the result.
/// Memory stays bounded as in the one-call analysis; dropping the job drops its work.
pub struct AnalysisJob {
    state: State,
    /// The model the job was started with: its features were computed with that model's
    /// analysis numbers, so only that model may finish it.
    model_sha256: String,
}

impl std::fmt::Debug for AnalysisJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisJob")
            .field("progress", &self.progress())
            .finish()
    }
}

impl AnalysisJob {
    pub(super) fn new(stream: FeatureStream, engine: &Engine) -> Self {
        AnalysisJob {
            state: State::Decoding(Box::new(stream)),
            model_sha256: engine.model_sha256().to_string(),
        }
    }

    /// Where the job is.
    pub fn progress(&self) -> JobProgress {
        match &self.state {
            State::Decoding(stream) => JobProgress {
                stage: AnalysisStage::Decode,
                fraction: stream.fraction_done(),
            },
            State::Modelling { features, outputs } => JobProgress {
                stage: AnalysisStage::Analysis,
                fraction: Some(outputs.embeddings.len() as f64 / features.patches.len() as f64),
            },
            State::Done => JobProgress {
                stage: AnalysisStage::Done,
                fraction: Some(1.0),
            },
        }
    }

    /// Does one step of the work with `engine` (the engine that started the job) and returns
    /// the analysis once it is complete. After an error or the result, the job is done and
    /// further steps are an error.
    pub fn step(&mut self, engine: &Engine, budget: StepBudget) -> Result<Option<TrackAnalysis>> {
        if engine.model_sha256() != self.model_sha256 {
            return Err(Error::Inference(
                "this analysis was started with another model".into(),
            ));
        }
        // Whatever happens, a failed step leaves the job done, its memory released.
        match std::mem::replace(&mut self.state, State::Done) {
            State::Decoding(mut stream) => {
                if stream.advance(budget.audio_seconds)? {
                    self.state = State::Decoding(stream);
                } else {
                    let features = stream.finish()?;
                    if features.patches.is_empty() {
                        return Err(Error::NoAudio);
                    }
                    let heads = engine.model_metadata().heads.len();
                    let n = features.patches.len();
                    self.state = State::Modelling {
                        features: Box::new(features),
                        outputs: PatchOutputs {
                            embeddings: Vec::with_capacity(n),
                            head_probabilities: vec![Vec::with_capacity(n); heads],
                        },
                    };
                }
                Ok(None)
            }
            State::Modelling {
                features,
                mut outputs,
            } => {
                let done = outputs.embeddings.len();
                let end = done
                    .saturating_add(budget.patches.max(1))
                    .min(features.patches.len());
                let more = engine.model().run(&features.patches[done..end])?;
                outputs.embeddings.extend(more.embeddings);
                for (all, part) in outputs
                    .head_probabilities
                    .iter_mut()
                    .zip(more.head_probabilities)
                {
                    all.extend(part);
                }
                if end < features.patches.len() {
                    self.state = State::Modelling { features, outputs };
                    Ok(None)
                } else {
                    Ok(Some(engine.assemble(*features, outputs)))
                }
            }
            State::Done => Err(Error::Inference(
                "this analysis has already finished or failed".into(),
            )),
        }
    }

    /// Runs every remaining step.
    pub fn run_to_end(mut self, engine: &Engine) -> Result<TrackAnalysis> {
        loop {
            if let Some(analysis) = self.step(engine, StepBudget::UNLIMITED)? {
                return Ok(analysis);
            }
        }
    }
}
