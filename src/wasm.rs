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
//! The index needs no model to search by catalog track, so a page can answer "similar to this
//! track" before the model has even downloaded:
//!
//! ```js
//! const index = new SimilarityIndex(indexBytes);          // validated, checksummed
//! index.search({ positive: [{ track: 'id-42' }], k: 10, filter: { catalog: { mood: ['calm'] } } });
//! index.searchAnalysis(a, { k: 10 });                      // checks a's model against the index
//! ```
//! Errors are thrown as JS `Error`s whose message says what is wrong with the input.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::embed::{Engine, TrackAnalysis};
use crate::index::CatalogIndex;
use crate::model::ModelMetadata;
use crate::params::AnalysisParams;
use crate::search::{Reference, SearchRequest, search};

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
    /// only used as a format hint. The bytes stay in JS memory and are read in small pieces,
    /// so even an hour-long WAV does not grow the wasm memory (which never shrinks).
    #[wasm_bindgen(js_name = analyzeFile)]
    pub fn analyze_file(
        &self,
        bytes: &js_sys::Uint8Array,
        file_name: Option<String>,
    ) -> Result<Analysis, JsError> {
        let ext = file_name
            .as_deref()
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, e)| e.to_ascii_lowercase());
        let source = JsBytes {
            bytes: bytes.clone(),
            len: u64::from(bytes.length()),
            position: 0,
        };
        let inner = self
            .engine
            .analyze_source(Box::new(source), ext.as_deref())
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
    ) -> Result<Analysis, JsError> {
        let inner = self
            .engine
            .analyze_pcm(samples, sample_rate, channels as usize)
            .map_err(js_error)?;
        Ok(self.wrap(inner))
    }
}

/// A JS `Uint8Array` read as a file: each read copies just the requested range into wasm.
struct JsBytes {
    bytes: js_sys::Uint8Array,
    len: u64,
    position: u64,
}

// symphonia's MediaSource must be Send + Sync. This build of the engine is single-threaded
// (wasm32 without the atomics feature), and a JsBytes lives only for one analyzeFile call.
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
    fn wrap(&self, inner: TrackAnalysis) -> Analysis {
        Analysis {
            inner,
            hop_seconds: self.engine.params().hop_seconds(),
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
    model_sha256: String,
    model_name: String,
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

/// A catalog index loaded from its file bytes.
#[wasm_bindgen]
pub struct SimilarityIndex {
    index: CatalogIndex,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexInfo<'a> {
    header: &'a crate::index::IndexHeader,
    tracks: usize,
    segments: usize,
    precision: crate::index::Precision,
    tags: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
    predicted_tags: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
}

#[wasm_bindgen]
impl SimilarityIndex {
    /// Loads and validates an index file (magic, version, length, checksum, analysis numbers).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<SimilarityIndex, JsError> {
        Ok(SimilarityIndex {
            index: CatalogIndex::from_bytes(bytes).map_err(js_error)?,
        })
    }

    /// `{ header, tracks, segments, precision, tags, predictedTags }`; the tag maps count tracks
    /// per category and value.
    #[wasm_bindgen(getter)]
    pub fn info(&self) -> Result<JsValue, JsError> {
        let info = IndexInfo {
            header: self.index.header(),
            tracks: self.index.len(),
            segments: self.index.segments().starts_seconds.len(),
            precision: self.index.embeddings().precision(),
            tags: self.index.tag_counts(false),
            predicted_tags: self.index.tag_counts(true),
        };
        Ok(info.serialize(&json_compatible())?)
    }

    /// Number of tracks.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.index.len()
    }

    /// Every track's metadata, in index order (`[{ id, title, collection, tags, predicted,
    /// durationSeconds, previewUrl, license, attribution, composer }]`).
    pub fn tracks(&self) -> Result<JsValue, JsError> {
        Ok(self.index.tracks().serialize(&json_compatible())?)
    }

    /// Throws unless `engine` holds the model that built this index.
    #[wasm_bindgen(js_name = checkModel)]
    pub fn check_model(&self, engine: &SimilarityEngine) -> Result<(), JsError> {
        let meta = engine.engine.model_metadata();
        self.index
            .ensure_model(engine.engine.model_sha256(), &meta.name)
            .map_err(js_error)
    }

    /// Searches with a request `{ positive, negative, k, filter, exclude, excludeReferences }`
    /// whose references are `{ track: id }` or `{ embedding: [...] }`. Returns
    /// `[{ id, position, score, bestSegmentSeconds, bestSegmentScore }]`, best first.
    pub fn search(&self, request: JsValue) -> Result<JsValue, JsError> {
        let request: SearchRequest = serde_wasm_bindgen::from_value(request)?;
        self.run(&request)
    }

    /// Like [`search`](Self::search), with the analysed file as the first positive reference;
    /// throws if the analysis comes from another model than the index's.
    #[wasm_bindgen(js_name = searchAnalysis)]
    pub fn search_analysis(
        &self,
        analysis: &Analysis,
        request: JsValue,
    ) -> Result<JsValue, JsError> {
        self.index
            .ensure_model(&analysis.model_sha256, &analysis.model_name)
            .map_err(js_error)?;
        let mut request: SearchRequest = if request.is_undefined() || request.is_null() {
            SearchRequest::default()
        } else {
            serde_wasm_bindgen::from_value(request)?
        };
        request
            .positive
            .insert(0, Reference::Embedding(analysis.inner.embedding.clone()));
        self.run(&request)
    }
}

impl SimilarityIndex {
    fn run(&self, request: &SearchRequest) -> Result<JsValue, JsError> {
        let hits = search(&self.index, request).map_err(js_error)?;
        Ok(hits.serialize(&json_compatible())?)
    }

    /// The index inside (for tests).
    pub fn inner(&self) -> &CatalogIndex {
        &self.index
    }
}

/// Plain JS objects (not `Map`s) for maps, so results can cross `postMessage` and be read with
/// dot syntax.
fn json_compatible() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::json_compatible()
}
