//! `SimilarityEngine` (one model: analyses files and PCM, at once or in steps), `AnalysisJob`
//! and `Analysis` for JS.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{JsFailure, js_error};
use crate::embed::{Engine, StepBudget, TrackAnalysis};
use crate::model::ModelMetadata;
use crate::params::AnalysisParams;

/// An embedding engine holding one model.
#[wasm_bindgen]
pub struct SimilarityEngine {
    pub(super) engine: Engine,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EngineInfo<'a> {
    model: &'a ModelMetadata,
    model_sha256: &'a str,
    analysis: &'a AnalysisParams,
}

#[wasm_bindgen]
impl SimilarityEngine {
    /// Builds, once, what reading a model needs (tract's NNEF reader: a parse of NNEF's
    /// standard library, ~100 ms on a cold page). A page calls it while the model downloads;
    /// the constructor does it itself when it has not been done.
    #[wasm_bindgen(js_name = prepareLoading)]
    pub fn prepare_loading() {
        crate::model::nnef::prepare_reader();
    }

    /// Loads a model (the NNEF archive `simsong model-export` writes) and checks its analysis
    /// numbers against this build's.
    #[wasm_bindgen(constructor)]
    pub fn new(model_bytes: &[u8]) -> Result<SimilarityEngine, JsFailure> {
        Ok(SimilarityEngine {
            engine: Engine::from_model_bytes(model_bytes).map_err(js_error)?,
        })
    }

    /// `{ model, modelSha256, analysis }`: the model's metadata, hash and analysis numbers.
    #[wasm_bindgen(getter)]
    pub fn info(&self) -> Result<JsValue, JsFailure> {
        let info = EngineInfo {
            model: self.engine.model_metadata(),
            model_sha256: self.engine.model_sha256(),
            analysis: self.engine.params(),
        };
        Ok(serde_wasm_bindgen::to_value(&info)?)
    }

    /// Analyses an encoded audio file (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A). `fileName` is
    /// only used as a format hint. The bytes stay in JS memory and are read in small pieces,
    /// so even an hour-long WAV does not grow the wasm memory (which never shrinks).
    #[wasm_bindgen(js_name = analyzeFile)]
    pub fn analyze_file(
        &self,
        bytes: &js_sys::Uint8Array,
        file_name: Option<String>,
    ) -> Result<Analysis, JsFailure> {
        let ext = extension_of(file_name.as_deref());
        let inner = self
            .engine
            .analyze_source(Box::new(JsBytes::new(bytes)), ext.as_deref())
            .map_err(js_error)?;
        Ok(self.wrap(inner))
    }

    /// Analyses interleaved PCM samples (full scale ±1) at `sampleRate` Hz with `channels`
    /// channels, e.g. from the browser's `decodeAudioData` for formats Rust cannot decode.
    /// Resampling happens here, never in the browser.
    #[wasm_bindgen(js_name = analyzePcm)]
    pub fn analyze_pcm(
        &self,
        samples: &[f32],
        sample_rate: u32,
        channels: u32,
    ) -> Result<Analysis, JsFailure> {
        let inner = self
            .engine
            .analyze_pcm(samples, sample_rate, channels as usize)
            .map_err(js_error)?;
        Ok(self.wrap(inner))
    }
}

#[wasm_bindgen]
impl SimilarityEngine {
    /// Starts analysing an encoded file a step at a time (see [`AnalysisJob`]), so the caller
    /// can show progress and drop the work when it is no longer wanted. The container's
    /// headers are checked here; the bytes stay in JS memory as with `analyzeFile`.
    #[wasm_bindgen(js_name = startFile)]
    pub fn start_file(
        &self,
        bytes: &js_sys::Uint8Array,
        file_name: Option<String>,
    ) -> Result<AnalysisJob, JsFailure> {
        let ext = extension_of(file_name.as_deref());
        let job = self
            .engine
            .start_source(Box::new(JsBytes::new(bytes)), ext.as_deref())
            .map_err(js_error)?;
        Ok(AnalysisJob {
            inner: job,
            budget: StepBudget::default(),
        })
    }

    /// Starts analysing interleaved PCM (full scale ±1) a step at a time.
    #[wasm_bindgen(js_name = startPcm)]
    pub fn start_pcm(
        &self,
        samples: Vec<f32>,
        sample_rate: u32,
        channels: u32,
    ) -> Result<AnalysisJob, JsFailure> {
        let job = self
            .engine
            .start_pcm(samples, sample_rate, channels as usize)
            .map_err(js_error)?;
        Ok(AnalysisJob {
            inner: job,
            budget: StepBudget::default(),
        })
    }
}

/// An analysis in progress. Each `step(engine)` does a short piece of work (about 10 s of audio
/// decoded, or 4 patches through the model) and returns the `Analysis` once complete, else
/// `undefined`; `progress` says where it is. `free()` it to drop the work.
///
/// ```js
/// const job = engine.startFile(bytes, file.name);
/// let a;
/// while (!(a = job.step(engine))) { report(job.progress); await yieldToEvents(); if (stale) break; }
/// job.free();
/// ```
#[wasm_bindgen]
pub struct AnalysisJob {
    inner: crate::embed::AnalysisJob,
    budget: StepBudget,
}

#[wasm_bindgen]
impl AnalysisJob {
    /// Does one step with `engine` (the engine that started the job).
    pub fn step(&mut self, engine: &SimilarityEngine) -> Result<Option<Analysis>, JsFailure> {
        let done = self
            .inner
            .step(&engine.engine, self.budget)
            .map_err(js_error)?;
        Ok(done.map(|inner| engine.wrap(inner)))
    }

    /// `{ stage: 'decode' | 'analysis' | 'done', fraction }`, `fraction` in 0..=1 of that
    /// stage, or `undefined` when the input's length is unknown.
    #[wasm_bindgen(getter)]
    pub fn progress(&self) -> Result<JsValue, JsFailure> {
        Ok(serde_wasm_bindgen::to_value(&self.inner.progress())?)
    }

    /// Changes how much one step does: seconds of audio decoded, patches through the model.
    #[wasm_bindgen(js_name = setBudget)]
    pub fn set_budget(&mut self, audio_seconds: f64, patches: usize) {
        self.budget = StepBudget {
            audio_seconds: audio_seconds.max(0.1),
            patches: patches.max(1),
        };
    }
}

fn extension_of(file_name: Option<&str>) -> Option<String> {
    file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
}

/// A JS `Uint8Array` read as a file: each read copies just the requested range into wasm.
struct JsBytes {
    bytes: js_sys::Uint8Array,
    len: u64,
    position: u64,
}

impl JsBytes {
    fn new(bytes: &js_sys::Uint8Array) -> Self {
        JsBytes {
            bytes: bytes.clone(),
            len: u64::from(bytes.length()),
            position: 0,
        }
    }
}

// symphonia's MediaSource must be Send + Sync. This build of the engine is single-threaded
// (wasm32 without the atomics feature): a JsBytes never leaves the thread that made it.
unsafe impl Send for JsBytes {}
unsafe impl Sync for JsBytes {}

impl std::io::Read for JsBytes {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.len.saturating_sub(self.position)).min(buf.len() as u64) as u32;
        if n > 0 {
            let start = self.position as u32;
            self.bytes
                .subarray(start, start + n)
                .copy_to(&mut buf[..n as usize]);
            self.position += u64::from(n);
        }
        Ok(n as usize)
    }
}

impl std::io::Seek for JsBytes {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let target = match pos {
            std::io::SeekFrom::Start(p) => Some(p),
            std::io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.position.checked_add_signed(d),
        };
        match target {
            Some(p) => {
                self.position = p;
                Ok(p)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )),
        }
    }
}

impl symphonia::core::io::MediaSource for JsBytes {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

impl SimilarityEngine {
    pub(super) fn wrap(&self, inner: TrackAnalysis) -> Analysis {
        Analysis {
            inner,
            hop_seconds: self.engine.front_end().signal_params().hop_seconds(),
            segment_seconds: self.engine.params().patch_seconds(),
            model_sha256: self.engine.model_sha256().to_string(),
            model_name: self.engine.model_metadata().name.clone(),
        }
    }
}

#[wasm_bindgen]
impl SimilarityEngine {
    /// Runs the model on one log-mel patch (band-major `n_mels × patch_frames` values) and
    /// returns its L2-normalised embedding. For tools and benchmarks.
    #[wasm_bindgen(js_name = embedPatch)]
    pub fn embed_patch(&self, patch: Vec<f32>) -> Result<Vec<f32>, JsFailure> {
        let patch = crate::patches::Patch {
            start_frame: 0,
            data: patch,
        };
        let mut out = self
            .engine
            .model()
            .run(std::slice::from_ref(&patch))
            .map_err(js_error)?;
        Ok(out.embeddings.pop().unwrap_or_default())
    }
}

/// The result of analysing one input.
#[wasm_bindgen]
pub struct Analysis {
    pub(super) inner: TrackAnalysis,
    hop_seconds: f64,
    /// Duration one segment (patch) covers, in seconds.
    segment_seconds: f64,
    pub(super) model_sha256: String,
    pub(super) model_name: String,
}

#[wasm_bindgen]
impl Analysis {
    /// L2-normalised track embedding.
    #[wasm_bindgen(getter)]
    pub fn embedding(&self) -> Vec<f32> {
        self.inner.embedding.clone()
    }

    /// SHA-256 of the model that computed this analysis.
    #[wasm_bindgen(getter, js_name = modelSha256)]
    pub fn model_sha256(&self) -> String {
        self.model_sha256.clone()
    }

    /// Name of the model that computed this analysis (from its metadata).
    #[wasm_bindgen(getter, js_name = modelName)]
    pub fn model_name(&self) -> String {
        self.model_name.clone()
    }

    /// Length of each embedding.
    #[wasm_bindgen(getter, js_name = embeddingDim)]
    pub fn embedding_dim(&self) -> usize {
        self.inner.embedding.len()
    }

    /// Start of each analysed segment, in seconds.
    #[wasm_bindgen(getter, js_name = segmentStarts)]
    pub fn segment_starts(&self) -> Vec<f64> {
        self.inner
            .segments
            .iter()
            .map(|s| s.start_seconds)
            .collect()
    }

    /// The embedding of the part from `fromSeconds` to `toSeconds` of the input: the mean of its
    /// segments whose centre lies there (the nearest one for a part shorter than a segment),
    /// L2-normalised. Search with it as `{ embedding }` to find songs like that part only.
    /// Errors for an empty or reversed part, or one after the end.
    #[wasm_bindgen(js_name = embeddingBetween)]
    pub fn embedding_between(
        &self,
        from_seconds: f64,
        to_seconds: f64,
    ) -> Result<Vec<f32>, JsFailure> {
        self.inner
            .embedding_between(self.segment_seconds, from_seconds, to_seconds)
            .map(|(embedding, _)| embedding)
            .map_err(js_error)
    }

    /// Segment embeddings, concatenated (`segmentStarts.length × embeddingDim`).
    #[wasm_bindgen(getter, js_name = segmentEmbeddings)]
    pub fn segment_embeddings(&self) -> Vec<f32> {
        self.inner
            .segments
            .iter()
            .flat_map(|s| s.embedding.iter().copied())
            .collect()
    }

    /// Head outputs: `[{ output, classes, probabilities }]`, probabilities averaged over the track.
    #[wasm_bindgen(getter)]
    pub fn heads(&self) -> Result<JsValue, JsFailure> {
        Ok(serde_wasm_bindgen::to_value(&self.inner.heads)?)
    }

    /// The tempo: `{ bpm, confidence, clear, sections: [{ startSeconds, endSeconds, bpm }] }`;
    /// `clear` is false when the onsets are not periodic enough to name a tempo (then `bpm` is
    /// only the best candidate).
    #[wasm_bindgen(getter)]
    pub fn tempo(&self) -> Result<JsValue, JsFailure> {
        super::tempo_to_js(&self.inner.tempo)
    }

    /// What the decoder found: `{ codec, sample_rate_hz, channels, frames, decode_errors }`.
    #[wasm_bindgen(getter)]
    pub fn source(&self) -> Result<JsValue, JsFailure> {
        Ok(serde_wasm_bindgen::to_value(&self.inner.source)?)
    }

    /// Decoded duration, in seconds.
    #[wasm_bindgen(getter, js_name = durationSeconds)]
    pub fn duration_seconds(&self) -> f64 {
        self.inner.source.duration_seconds()
    }

    /// Display spectrogram values (log-mel), frame-major: `melColumnCount × melBands`.
    #[wasm_bindgen(getter, js_name = melColumns)]
    pub fn mel_columns(&self) -> Vec<f32> {
        self.inner.overview.mel.frames().to_vec()
    }

    /// Number of mel bands per display column.
    #[wasm_bindgen(getter, js_name = melBands)]
    pub fn mel_bands(&self) -> usize {
        self.inner.overview.mel.n_mels()
    }

    /// Number of display columns.
    #[wasm_bindgen(getter, js_name = melColumnCount)]
    pub fn mel_column_count(&self) -> usize {
        self.inner.overview.mel.n_frames()
    }

    /// Seconds of audio per display column.
    #[wasm_bindgen(getter, js_name = melSecondsPerColumn)]
    pub fn mel_seconds_per_column(&self) -> f64 {
        self.inner.overview.frames_per_column as f64 * self.hop_seconds
    }
}
