//! The WebAssembly API (wasm-bindgen): a thin layer over [`Engine`].
//!
//! ```js
//! import init, { SimilarityEngine } from './pkg/simsong.js';
//! await init();
//! const engine = new SimilarityEngine(new Uint8Array(await (await fetch('model.onnx')).arrayBuffer()));
//! const a = engine.analyzeFile(new Uint8Array(await file.arrayBuffer()), file.name);
//! a.embedding;           // Float32Array, L2-normalised track embedding
//! a.melColumns;          // Float32Array, frame-major display spectrogram
//! ```
//! Errors are thrown as JS `Error`s whose message says what is wrong with the input.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::embed::{Engine, TrackAnalysis};
use crate::model::ModelMetadata;
use crate::params::AnalysisParams;

#[wasm_bindgen(start)]
fn start() {
    // A panic would be a bug; make it readable in the console instead of "unreachable".
    console_error_panic_hook::set_once();
}

fn js_error(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// The analysis numbers compiled into this build, as a plain object.
#[wasm_bindgen(js_name = analysisParams)]
pub fn analysis_params() -> Result<JsValue, JsError> {
    Ok(serde_wasm_bindgen::to_value(&AnalysisParams::CURRENT)?)
}

/// Log-mel spectrogram (the model's input scale) of mono samples already at the analysis rate
/// (16 kHz), frame-major: `frames × n_mels` values. For display and benchmarks.
#[wasm_bindgen(js_name = logMelSpectrogram)]
pub fn log_mel_spectrogram(samples: &[f32]) -> Result<Vec<f32>, JsError> {
    let mel =
        crate::mel::log_mel_spectrogram(samples, &AnalysisParams::CURRENT).map_err(js_error)?;
    Ok(mel.frames().to_vec())
}

/// An embedding engine holding one model.
#[wasm_bindgen]
pub struct SimilarityEngine {
    engine: Engine,
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
    /// Loads an ONNX model (its bytes) and checks its analysis numbers against this build's.
    #[wasm_bindgen(constructor)]
    pub fn new(model_bytes: &[u8]) -> Result<SimilarityEngine, JsError> {
        Ok(SimilarityEngine {
            engine: Engine::from_model_bytes(model_bytes).map_err(js_error)?,
        })
    }

    /// `{ model, modelSha256, analysis }`: the model's metadata, hash and analysis numbers.
    #[wasm_bindgen(getter)]
    pub fn info(&self) -> Result<JsValue, JsError> {
        let info = EngineInfo {
            model: self.engine.model_metadata(),
            model_sha256: self.engine.model_sha256(),
            analysis: self.engine.params(),
        };
        Ok(serde_wasm_bindgen::to_value(&info)?)
    }

    /// Analyses an encoded audio file (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A). `fileName` is
    /// only used as a format hint.
    #[wasm_bindgen(js_name = analyzeFile)]
    pub fn analyze_file(
        &self,
        bytes: Vec<u8>,
        file_name: Option<String>,
    ) -> Result<Analysis, JsError> {
        let ext = file_name
            .as_deref()
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, e)| e.to_ascii_lowercase());
        let inner = self
            .engine
            .analyze_bytes(bytes, ext.as_deref())
            .map_err(js_error)?;
        Ok(Analysis {
            inner,
            hop_seconds: self.engine.params().hop_seconds(),
        })
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
    ) -> Result<Analysis, JsError> {
        let inner = self
            .engine
            .analyze_pcm(samples, sample_rate, channels as usize)
            .map_err(js_error)?;
        Ok(Analysis {
            inner,
            hop_seconds: self.engine.params().hop_seconds(),
        })
    }
}

#[wasm_bindgen]
impl SimilarityEngine {
    /// Runs the model on one log-mel patch (band-major `n_mels × patch_frames` values) and
    /// returns its L2-normalised embedding. For tools and benchmarks.
    #[wasm_bindgen(js_name = embedPatch)]
    pub fn embed_patch(&self, patch: Vec<f32>) -> Result<Vec<f32>, JsError> {
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
    inner: TrackAnalysis,
    hop_seconds: f64,
}

#[wasm_bindgen]
impl Analysis {
    /// L2-normalised track embedding.
    #[wasm_bindgen(getter)]
    pub fn embedding(&self) -> Vec<f32> {
        self.inner.embedding.clone()
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
    pub fn heads(&self) -> Result<JsValue, JsError> {
        Ok(serde_wasm_bindgen::to_value(&self.inner.heads)?)
    }

    /// What the decoder found: `{ codec, sample_rate_hz, channels, frames, decode_errors }`.
    #[wasm_bindgen(getter)]
    pub fn source(&self) -> Result<JsValue, JsError> {
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
