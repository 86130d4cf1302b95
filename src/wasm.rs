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
//! track" before the model has even downloaded. It is published in parts ([`CatalogParts`]):
//! the worker fetches what a search job asks for and hands the bytes back (see
//! `www/engine-worker.js`).
//! Errors are thrown as JS `Error`s whose message says what is wrong with the input.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::embed::{Engine, TrackAnalysis};
use crate::index::parted::{PartKey, PartedIndex};
use crate::model::ModelMetadata;
use crate::params::AnalysisParams;
use crate::search::parted::{BrowseRow, BrowseTask, LookupTask, SearchTask, Step};
use crate::search::{Reference, SearchRequest, TagFilter};

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

/// A published catalog index (format 3), as far as it is fetched. It does no I/O: the worker
/// asks it what to fetch (`loadNeeds`, or a job's `step`), fetches, and hands the bytes back
/// with `provide` (or reports a failed fetch with `fail`).
///
/// ```js
/// const parts = new CatalogParts(manifestBytes);
/// for (const f of parts.loadNeeds()) parts.provide(f.key, await fetchPiece(f));
/// const job = parts.search({ positive: [{ track: 'id-42' }], k: 10 });
/// let s;
/// while (!(s = job.step(parts)).done) for (const f of s.needs) parts.provide(f.key, await fetchPiece(f));
/// s.hits; // [{ id, position, score, bestSegmentSeconds, bestSegmentScore, track }]
/// ```
#[wasm_bindgen]
pub struct CatalogParts {
    index: PartedIndex,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PartsInfo<'a> {
    header: HeaderInfo<'a>,
    tracks: u64,
    positions: u32,
    generations: usize,
    layout: &'a crate::index::parts::manifest::Layout,
    tags: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
    predicted_tags: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
    part_bytes: std::collections::BTreeMap<&'static str, u64>,
}

/// The fields the page knows from the one-file header, for continuity.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HeaderInfo<'a> {
    analysis: &'a AnalysisParams,
    frontend_version: u32,
    model_name: &'a str,
    model_sha256: &'a str,
    embedding_dim: u32,
    model_trained: bool,
    created_by: &'a str,
    index_id: &'a str,
}

#[wasm_bindgen]
impl CatalogParts {
    /// Parses and validates the manifest (`index.json`) bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(manifest_bytes: &[u8]) -> Result<CatalogParts, JsError> {
        Ok(CatalogParts {
            index: PartedIndex::new(manifest_bytes).map_err(js_error)?,
        })
    }

    /// What to fetch before the first search: `[{ key, file, offset, length, partBytes, whole }]`.
    #[wasm_bindgen(js_name = loadNeeds)]
    pub fn load_needs(&self) -> Result<JsValue, JsError> {
        Ok(self.index.load_needs().serialize(&json_compatible())?)
    }

    /// Checks and keeps the bytes fetched for `key`; throws (naming the part) if they are
    /// wrong, and then remembers the failure.
    pub fn provide(&mut self, key: &str, bytes: &[u8]) -> Result<(), JsError> {
        let parsed: PartKey = key.parse().map_err(js_error)?;
        self.index.provide(parsed, bytes).map_err(|e| {
            self.index.fail(parsed, e.to_string());
            js_error(e)
        })
    }

    /// Records that `key` could not be fetched; `problem` says why and names the part.
    pub fn fail(&mut self, key: &str, problem: String) -> Result<(), JsError> {
        let parsed: PartKey = key.parse().map_err(js_error)?;
        self.index.fail(parsed, problem);
        Ok(())
    }

    /// Forgets failed fetches, so that the next job tries those parts again.
    #[wasm_bindgen(js_name = clearFailures)]
    pub fn clear_failures(&mut self) {
        self.index.clear_failures();
    }

    /// Why `key` failed, or undefined.
    pub fn failure(&self, key: &str) -> Option<String> {
        let parsed: PartKey = key.parse().ok()?;
        self.index.failure(parsed).map(str::to_string)
    }

    /// True once every search part is in.
    #[wasm_bindgen(getter)]
    pub fn searchable(&self) -> bool {
        self.index.is_searchable()
    }

    /// `{ header, tracks, positions, generations, layout, tags, predictedTags, partBytes }`;
    /// the tag maps count live tracks per category and value (complete once searchable).
    #[wasm_bindgen(getter)]
    pub fn info(&self) -> Result<JsValue, JsError> {
        let m = self.index.manifest();
        let mut part_bytes = std::collections::BTreeMap::new();
        for (kind, _, file) in m.all_parts() {
            *part_bytes.entry(kind.name()).or_insert(0) += file.bytes;
        }
        let info = PartsInfo {
            header: HeaderInfo {
                analysis: &m.analysis,
                frontend_version: m.frontend_version,
                model_name: &m.model.name,
                model_sha256: &m.model.sha256,
                embedding_dim: m.model.embedding_dim,
                model_trained: m.model.trained,
                created_by: &m.created_by,
                index_id: &m.index_id,
            },
            tracks: m.live_tracks(),
            positions: m.total_positions(),
            generations: m.generations.len(),
            layout: &m.layout,
            tags: self.index.tag_counts(false),
            predicted_tags: self.index.tag_counts(true),
            part_bytes,
        };
        Ok(info.serialize(&json_compatible())?)
    }

    /// Every part file the manifest names (relative to it), e.g. to prune a cache.
    #[wasm_bindgen(js_name = partFiles)]
    pub fn part_files(&self) -> Vec<String> {
        self.index
            .manifest()
            .all_parts()
            .into_iter()
            .map(|(kind, _, file)| file.file_name(kind))
            .collect()
    }

    /// Bytes the loaded codes, postings and cached pieces take in wasm memory, roughly.
    #[wasm_bindgen(js_name = heldBytes)]
    pub fn held_bytes(&self) -> usize {
        self.index.held_bytes()
    }

    /// Throws unless `engine` holds the model that built this index.
    #[wasm_bindgen(js_name = checkModel)]
    pub fn check_model(&self, engine: &SimilarityEngine) -> Result<(), JsError> {
        let m = &self.index.manifest().model;
        check_model_sha(
            m,
            engine.engine.model_sha256(),
            &engine.engine.model_metadata().name,
        )
    }

    /// A search job for `{ positive, negative, k, filter, exclude, excludeReferences }`, whose
    /// references are `{ track: id }` or `{ embedding: [...] }`.
    pub fn search(&mut self, request: JsValue) -> Result<SearchJob, JsError> {
        let request: SearchRequest = serde_wasm_bindgen::from_value(request)?;
        self.start(request)
    }

    /// Like [`search`](Self::search) with the analysed file as the first positive reference;
    /// throws if the analysis comes from another model than the index's.
    #[wasm_bindgen(js_name = searchAnalysis)]
    pub fn search_analysis(
        &mut self,
        analysis: &Analysis,
        request: JsValue,
    ) -> Result<SearchJob, JsError> {
        let m = &self.index.manifest().model;
        check_model_sha(m, &analysis.model_sha256, &analysis.model_name)?;
        let mut request: SearchRequest = if request.is_undefined() || request.is_null() {
            SearchRequest::default()
        } else {
            serde_wasm_bindgen::from_value(request)?
        };
        request
            .positive
            .insert(0, Reference::Embedding(analysis.inner.embedding.clone()));
        self.start(request)
    }

    /// A job listing `limit` live tracks from `offset` that pass `filter` (`{ catalog,
    /// predicted, outside }`, or undefined), in index order.
    pub fn browse(
        &mut self,
        filter: JsValue,
        offset: usize,
        limit: usize,
    ) -> Result<BrowseJob, JsError> {
        let filter: TagFilter = if filter.is_undefined() || filter.is_null() {
            TagFilter::default()
        } else {
            serde_wasm_bindgen::from_value(filter)?
        };
        self.index.trim_caches();
        Ok(BrowseJob {
            task: BrowseTask::new(&self.index, &filter, offset, limit.min(1000)),
        })
    }

    /// A job fetching the metadata of tracks by id (`null` for ids not in the catalog).
    pub fn lookup(&mut self, ids: Vec<String>) -> LookupJob {
        self.index.trim_caches();
        LookupJob {
            task: LookupTask::new(ids),
        }
    }
}

impl CatalogParts {
    fn start(&mut self, request: SearchRequest) -> Result<SearchJob, JsError> {
        self.index.trim_caches();
        Ok(SearchJob {
            task: SearchTask::new(request).map_err(js_error)?,
        })
    }

    /// The index inside (for tests).
    pub fn inner(&self) -> &PartedIndex {
        &self.index
    }
}

fn check_model_sha(
    m: &crate::index::parts::manifest::ModelRef,
    sha: &str,
    name: &str,
) -> Result<(), JsError> {
    if m.sha256 == sha {
        return Ok(());
    }
    Err(js_error(crate::Error::IndexModelMismatch {
        index_model: format!("{} ({})", m.name, &m.sha256[..12.min(m.sha256.len())]),
        loaded_model: format!("{name} ({})", &sha[..12.min(sha.len())]),
    }))
}

/// `{ done: false, needs }` or `{ done: true, ...answer }` for JS.
fn step_value<T: Serialize>(step: Step<T>) -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Needs {
        done: bool,
        needs: Vec<crate::index::parted::Fetch>,
    }
    #[derive(Serialize)]
    struct Done<T> {
        done: bool,
        #[serde(flatten)]
        answer: T,
    }
    Ok(match step {
        Step::Need(needs) => Needs { done: false, needs }.serialize(&json_compatible())?,
        Step::Done(answer) => Done { done: true, answer }.serialize(&json_compatible())?,
    })
}

/// A search in progress on a [`CatalogParts`].
#[wasm_bindgen]
pub struct SearchJob {
    task: SearchTask,
}

#[wasm_bindgen]
impl SearchJob {
    /// `{ done: false, needs: [...] }` (fetch them, then step again) or `{ done: true, hits,
    /// approximate, notes, reranked }`.
    pub fn step(&mut self, parts: &mut CatalogParts) -> Result<JsValue, JsError> {
        step_value(self.task.step(&mut parts.index).map_err(js_error)?)
    }
}

/// A browse page in progress.
#[wasm_bindgen]
pub struct BrowseJob {
    task: BrowseTask,
}

#[wasm_bindgen]
impl BrowseJob {
    /// `{ done: false, needs }` or `{ done: true, total, rows: [{ position, track }], notes }`.
    pub fn step(&mut self, parts: &mut CatalogParts) -> Result<JsValue, JsError> {
        step_value(self.task.step(&mut parts.index).map_err(js_error)?)
    }
}

/// A lookup by id in progress.
#[wasm_bindgen]
pub struct LookupJob {
    task: LookupTask,
}

#[wasm_bindgen]
impl LookupJob {
    /// `{ done: false, needs }` or `{ done: true, rows: [{ position, track } | null] }`.
    pub fn step(&mut self, parts: &mut CatalogParts) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Rows {
            rows: Vec<Option<BrowseRow>>,
        }
        let step = match self.task.step(&mut parts.index).map_err(js_error)? {
            Step::Need(n) => Step::Need(n),
            Step::Done(rows) => Step::Done(Rows { rows }),
        };
        step_value(step)
    }
}

/// Plain JS objects (not `Map`s) for maps, so results can cross `postMessage` and be read with
/// dot syntax.
fn json_compatible() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::json_compatible()
}
