//! `CatalogParts` (a published index as far as it is fetched) and its search, browse and
//! lookup jobs for JS.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{JsFailure, js_error, json_compatible};
use crate::browse::{BrowseRow, BrowseTask, LookupTask};
use crate::index::parted::task::Step;
use crate::index::parted::{PartKey, PartedIndex};
use crate::params::AnalysisParams;
use crate::search::parted::SearchTask;
use crate::search::{SearchRequest, TagFilter};

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
    tempo: TempoInfo,
    /// False until the whole index is in: the tag and tempo figures are empty until then.
    complete: bool,
}

/// What the page needs for its tempo filter.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TempoInfo {
    /// A track's predicted tempo counts (is shown, is filtered by) from this confidence.
    min_confidence: f32,
    /// Live tracks with a clear predicted tempo.
    tracks: usize,
    /// The slowest and fastest of them, in whole BPM (0 when there are none).
    slowest_bpm: f32,
    fastest_bpm: f32,
    /// The slowest and fastest tempo the index can store, in BPM ([`crate::tempo::code`]): a
    /// page clamps what it shows and asks for to them.
    min_bpm: f32,
    max_bpm: f32,
}

/// The fields the page knows from the one-file header, for continuity.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HeaderInfo<'a> {
    analysis: &'a AnalysisParams,
    frontend_version: u32,
    tempo_version: u32,
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
    pub fn new(manifest_bytes: &[u8]) -> Result<CatalogParts, JsFailure> {
        Ok(CatalogParts {
            index: PartedIndex::new(manifest_bytes).map_err(js_error)?,
        })
    }

    /// What to fetch before the first search: `[{ key, file, offset, length, partBytes, whole }]`.
    #[wasm_bindgen(js_name = loadNeeds)]
    pub fn load_needs(&self) -> Result<JsValue, JsFailure> {
        Ok(self.index.load_needs().serialize(&json_compatible())?)
    }

    /// What a search by codes needs first (the quantiser, every cell table), as `loadNeeds`
    /// lists pieces: fetched while a visitor's song is analysed.
    #[wasm_bindgen(js_name = searchNeeds)]
    pub fn search_needs(&self) -> Result<JsValue, JsFailure> {
        Ok(self.index.search_needs().serialize(&json_compatible())?)
    }

    /// Checks and keeps the bytes fetched for `key`; throws (naming the part) if they are
    /// wrong, and then remembers the failure.
    pub fn provide(&mut self, key: &str, bytes: &[u8]) -> Result<(), JsFailure> {
        let parsed: PartKey = key.parse().map_err(js_error)?;
        self.index.provide(parsed, bytes).map_err(|e| {
            self.index.fail(parsed, e.to_string());
            js_error(e)
        })
    }

    /// Records that `key` could not be fetched; `problem` says why and names the part.
    pub fn fail(&mut self, key: &str, problem: String) -> Result<(), JsFailure> {
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

    /// True once the whole index is in (`loadNeeds` satisfied): the quantiser, every codes
    /// and filters part whole. Searches run before it, by the cells they probe.
    #[wasm_bindgen(getter)]
    pub fn complete(&self) -> bool {
        self.index.is_complete()
    }

    /// True when the index has neighbour lists for every track: a search by one catalog track
    /// needs neither codes nor quantiser (the page may answer it before loading them).
    #[wasm_bindgen(getter, js_name = hasNeighbourLists)]
    pub fn has_neighbour_lists(&self) -> bool {
        self.index.manifest().usable_neighbours().is_some()
    }

    /// `{ header, tracks, positions, generations, layout, tags, predictedTags, partBytes, tempo,
    /// complete }`; the tag maps count live tracks per category and value, and like the tempo
    /// figures are empty until every filters part is in (`complete`).
    #[wasm_bindgen(getter)]
    pub fn info(&self) -> Result<JsValue, JsFailure> {
        let m = self.index.manifest();
        let mut part_bytes = std::collections::BTreeMap::new();
        for (kind, _, file) in m.all_parts() {
            *part_bytes.entry(kind.name()).or_insert(0) += file.bytes;
        }
        let info = PartsInfo {
            header: HeaderInfo {
                analysis: &m.analysis,
                frontend_version: m.frontend_version,
                tempo_version: m.tempo_version,
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
            tempo: self.tempo_info(),
            complete: self.index.is_complete(),
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

    /// Throws unless the model with this SHA-256 (hex, of its ONNX file) and name built this
    /// index: the check for an embedding computed by the analysis module (`SimilarityEngine`
    /// in `pkg/simsong.js`, a separate wasm instance) before it is searched as an
    /// `{ embedding }` reference.
    #[wasm_bindgen(js_name = checkModelHash)]
    pub fn check_model_hash(&self, sha256: &str, name: &str) -> Result<(), JsFailure> {
        check_model_sha(&self.index.manifest().model, sha256, name)
    }

    /// A search job for `{ positive, negative, k, filter, exclude, excludeReferences }`, whose
    /// references are `{ track: id }` or `{ embedding: [...] }`.
    pub fn search(&mut self, request: JsValue) -> Result<SearchJob, JsFailure> {
        let request: SearchRequest = serde_wasm_bindgen::from_value(request)?;
        self.start(request)
    }

    /// A job listing `limit` live tracks from `offset` that pass `filter` (`{ catalog,
    /// predicted, outside }`, or undefined), in index order.
    pub fn browse(
        &mut self,
        filter: JsValue,
        offset: usize,
        limit: usize,
    ) -> Result<BrowseJob, JsFailure> {
        let filter: TagFilter = if filter.is_undefined() || filter.is_null() {
            TagFilter::default()
        } else {
            serde_wasm_bindgen::from_value(filter)?
        };
        self.index.trim_caches();
        Ok(BrowseJob {
            task: BrowseTask::new(&filter, offset, limit),
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
    fn start(&mut self, request: SearchRequest) -> Result<SearchJob, JsFailure> {
        self.index.trim_caches();
        Ok(SearchJob {
            task: SearchTask::new(request).map_err(js_error)?,
        })
    }

    /// The index inside (for tests).
    pub fn inner(&self) -> &PartedIndex {
        &self.index
    }

    /// The live tracks' clear tempi, from the filters parts' tempo bytes.
    fn tempo_info(&self) -> TempoInfo {
        let bpms = (0..self.index.len() as u32)
            .filter(|&p| !self.index.is_removed(p))
            .filter_map(|p| self.index.tempo_bpm(p));
        let (mut tracks, mut slowest, mut fastest) = (0, f32::MAX, 0.0f32);
        for bpm in bpms {
            tracks += 1;
            slowest = slowest.min(bpm);
            fastest = fastest.max(bpm);
        }
        TempoInfo {
            min_confidence: crate::tempo::MIN_CONFIDENCE,
            tracks,
            slowest_bpm: if tracks > 0 { slowest } else { 0.0 },
            fastest_bpm: fastest,
            min_bpm: crate::tempo::code::MIN_BPM,
            max_bpm: crate::tempo::code::MAX_BPM,
        }
    }
}

fn check_model_sha(
    m: &crate::index::parts::manifest::ModelRef,
    sha: &str,
    name: &str,
) -> Result<(), JsFailure> {
    if m.sha256 == sha {
        return Ok(());
    }
    Err(js_error(crate::Error::IndexModelMismatch {
        index_model: format!("{} ({})", m.name, &m.sha256[..12.min(m.sha256.len())]),
        loaded_model: format!("{name} ({})", &sha[..12.min(sha.len())]),
    }))
}

/// `{ done: false, needs }` or `{ done: true, ...answer }` for JS.
fn step_value<T: Serialize>(step: Step<T>) -> Result<JsValue, JsFailure> {
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
    pub fn step(&mut self, parts: &mut CatalogParts) -> Result<JsValue, JsFailure> {
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
    pub fn step(&mut self, parts: &mut CatalogParts) -> Result<JsValue, JsFailure> {
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
    pub fn step(&mut self, parts: &mut CatalogParts) -> Result<JsValue, JsFailure> {
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
