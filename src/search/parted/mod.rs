//! Searching a published index ([`PartedIndex`]) in steps that say what to fetch.
//!
//! A [`SearchTask`] ranks in four stages, asking for parts between them:
//!
//! 1. **References**: catalog track ids → positions (id buckets), and their embeddings (their
//!    re-ranking rows); the query is the Rocchio combination, as in the exact search.
//! 2. **Shortlist**: ADC over compact codes ([`crate::index::quantizer`]) picks the
//!    [`shortlist_len`] best tracks that pass the filters. Until the whole codes parts have
//!    arrived (at idle), only the quantiser's cells nearest to the query
//!    are read ([`PROBE_CELLS`], more while they hold fewer than [`PROBE_MIN_ELIGIBLE`]
//!    eligible tracks), fetched by range: an inverted file (`cells.rs`).
//! 3. **Re-ranking**: the shortlist is re-scored with its re-ranking rows (int8 residuals from
//!    their cells' centroids, fetched in blocks), which gives the order and scores of an exact
//!    scan to within their rounding.
//! 4. **Details**: metadata records and segment rows of the `k` hits, where their re-ranking
//!    rows say they are.
//!
//! Each [`SearchTask::step`] returns the pieces it needs ([`Step::Need`]) or the result. A part
//! that cannot be fetched degrades the answer where that is honest (ranking by the codes
//! alone, no best segment, no title) and says so in [`SearchOutcome::notes`]; an id bucket that
//! is needed to know the reference fails the search with the part's name.
//!
//! Browsing and lookups by id run in the same steps ([`crate::browse`]); the steps' protocol
//! is [`crate::index::parted::task`].

mod cells;
mod lists;
mod references;

pub(crate) use cells::eligible_mask;
pub use cells::{PROBE_CELLS, PROBE_MIN_ELIGIBLE};

use std::collections::BTreeSet;

use cells::{adc_shortlist, probed_cells};
use serde::Serialize;

use super::versions::{FoldedRow, fold_versions};
use super::{SearchHit, SearchRequest, TopK, VersionHit};
use crate::error::Result;
use crate::index::TrackMeta;
use crate::index::parted::task::Step;
use crate::index::parted::task::{heads_needed, missing, noting};
use crate::index::parted::{Fetch, PartKey, PartedIndex};
use crate::index::parts::segments;

/// Shortlist re-ranked for `k` results: `max(RERANK_FACTOR · k, RERANK_MIN)` tracks. On the
/// 600k catalog drawn from real music (`bench/results/parts-native-600000.json`), re-ranking 200
/// gives a dropped file recall@10 0.957 (every cell), 50 gives 0.788, 400 gives 0.985.
pub const RERANK_FACTOR: usize = 20;
/// The smallest shortlist.
pub const RERANK_MIN: usize = 200;

/// Tracks re-scored with their re-ranking rows for a top-`k` search.
pub fn shortlist_len(k: usize) -> usize {
    (RERANK_FACTOR * k).max(RERANK_MIN)
}

/// One result of a search on a published index.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartedHit {
    /// The hit (id empty when its metadata shard could not be fetched).
    #[serde(flatten)]
    pub hit: SearchHit,
    /// The track's metadata, if its shard could be fetched.
    pub track: Option<TrackMeta>,
}

/// A finished search.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOutcome {
    /// Hits, best first.
    pub hits: Vec<PartedHit>,
    /// True when some scores come from the compact codes only (re-ranking rows missing).
    pub approximate: bool,
    /// What could not be fetched and what that cost, one sentence each.
    pub notes: Vec<String>,
    /// Tracks re-scored with their re-ranking rows (for an answer from a neighbour list: the
    /// entries of the list, scored at publication).
    pub reranked: usize,
    /// The reference track's metadata when the answer came from its neighbour list (which
    /// fetches it anyway); `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_track: Option<TrackMeta>,
    /// True when the answer came from the reference's neighbour list.
    pub from_neighbours: bool,
}

/// A search in progress (see the module docs).
#[derive(Debug)]
pub struct SearchTask {
    request: SearchRequest,
    shortlist_len: usize,
    /// Cells to probe even when the whole codes are in (benchmarks); `None`: [`PROBE_CELLS`]
    /// until they are, every cell after.
    probes: Option<usize>,
    /// Eligible tracks the probed cells must hold at least ([`PROBE_MIN_ELIGIBLE`] unless set).
    min_eligible: usize,
    /// Where the task is.
    stage: Stage,
    approximate: bool,
    notes: BTreeSet<String>,
    /// Whether the neighbour lists may still answer (see [`SearchTask::answer_from_neighbours`]).
    neighbours_possible: bool,
}

#[derive(Debug)]
struct Query {
    vector: Vec<f32>,
    excluded: Vec<u32>,
}

/// A row of a result: (score, position) and the versions folded under it.
type Ranked = FoldedRow;

/// The stages of a [`SearchTask`], each with what the earlier ones found (see the module docs).
#[derive(Debug)]
enum Stage {
    /// Resolving the references into the query.
    References,
    /// Choosing the cells to probe (kept once chosen: the same cells while they arrive), then
    /// the shortlist by their codes.
    Shortlist {
        query: Query,
        cells: Option<Vec<u32>>,
    },
    /// Re-scoring the shortlist with its re-ranking rows.
    Rerank {
        query: Query,
        shortlist: Vec<(f32, u32)>,
    },
    /// Fetching the hits' details: `ranked` (score, position) best first, each with the
    /// versions folded under it (when the request groups them), `reranked` of the shortlist
    /// re-scored.
    Details {
        query: Query,
        ranked: Vec<Ranked>,
        reranked: usize,
    },
}

impl SearchTask {
    /// A task for `request` (references, k, filters, exclusions as in the exact search).
    pub fn new(request: SearchRequest) -> Result<Self> {
        request.check()?;
        Ok(SearchTask {
            shortlist_len: shortlist_len(request.k),
            request,
            probes: None,
            min_eligible: PROBE_MIN_ELIGIBLE,
            stage: Stage::References,
            approximate: false,
            notes: BTreeSet::new(),
            neighbours_possible: true,
        })
    }

    /// Re-ranks `len` tracks instead of [`shortlist_len`] (for benchmarks that weigh recall
    /// against bytes).
    pub fn with_shortlist(mut self, len: usize) -> Self {
        self.shortlist_len = len.max(self.request.k);
        self
    }

    /// Probes `cells` cells of the codes (at least; see [`PROBE_MIN_ELIGIBLE`]), even when the whole
    /// codes are loaded (for benchmarks that measure a first search's recall and bytes).
    pub fn with_probes(mut self, cells: usize) -> Self {
        self.probes = Some(cells.max(1));
        self
    }

    /// Probes cells until they hold at least `tracks` eligible tracks instead of
    /// [`PROBE_MIN_ELIGIBLE`] (for benchmarks that weigh a filtered search's recall against its
    /// bytes).
    pub fn with_min_eligible(mut self, tracks: usize) -> Self {
        self.min_eligible = tracks;
        self
    }

    /// Never answers from the neighbour lists: the codes rank even a "Similar" on one
    /// catalog track (for benchmarks that measure that path, and for comparing the two).
    pub fn without_neighbour_lists(mut self) -> Self {
        self.neighbours_possible = false;
        self
    }

    /// Advances as far as the loaded parts allow.
    pub fn step(&mut self, index: &mut PartedIndex) -> Result<Step<SearchOutcome>> {
        if self.neighbours_possible {
            match self.answer_from_neighbours(index)? {
                Some(step) => return Ok(step),
                None => self.neighbours_possible = false,
            }
        }
        let needs = heads_needed(index, true, !self.request.filter.is_empty())?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        loop {
            self.stage = match std::mem::replace(&mut self.stage, Stage::References) {
                Stage::References => match self.resolve(index)? {
                    Step::Need(n) => return Ok(Step::Need(n)),
                    Step::Done(query) => Stage::Shortlist { query, cells: None },
                },
                Stage::Shortlist { query, cells } => {
                    let mask = eligible_mask(index, &self.request.filter, &query.excluded);
                    let cells = cells.unwrap_or_else(|| {
                        probed_cells(index, &query.vector, &mask, self.probes, self.min_eligible)
                    });
                    let keys = index.manifest().generations.iter().flat_map(|g| {
                        let head = &index
                            .codes_state(g.generation as usize)
                            .expect("heads in")
                            .head;
                        cells
                            .iter()
                            .filter(|&&c| !head.cell(c as usize).is_empty())
                            .map(move |&c| PartKey::Cell(g.generation, c))
                    });
                    let needs = missing(index, keys, |_| false)?;
                    if !needs.is_empty() {
                        self.stage = Stage::Shortlist {
                            query,
                            cells: Some(cells),
                        };
                        return Ok(Step::Need(needs));
                    }
                    let shortlist =
                        adc_shortlist(index, &query.vector, &cells, &mask, self.shortlist_len);
                    Stage::Rerank { query, shortlist }
                }
                Stage::Rerank { query, shortlist } => {
                    let keys = shortlist.iter().filter_map(|&(_, p)| index.rerank_key(p));
                    let needs = missing(
                        index,
                        keys,
                        noting(
                            &mut self.notes,
                            "Re-ranking was not possible for every track (ranked by compact codes instead)",
                        ),
                    )?;
                    if !needs.is_empty() {
                        self.stage = Stage::Rerank { query, shortlist };
                        return Ok(Step::Need(needs));
                    }
                    let wanted = if self.request.group_versions {
                        self.shortlist_len
                    } else {
                        self.request.k
                    };
                    let mut best = TopK::new(wanted);
                    let mut reranked = 0;
                    for &(approx, p) in &shortlist {
                        let score = match index.rerank_vector(p) {
                            Some(row) => {
                                reranked += 1;
                                row.iter().zip(&query.vector).map(|(a, b)| a * b).sum()
                            }
                            None => {
                                self.approximate = true;
                                approx
                            }
                        };
                        best.push(score, p as usize);
                    }
                    let scored: Vec<(f32, u32)> = best
                        .into_sorted()
                        .into_iter()
                        .map(|(s, p)| (s, p as u32))
                        .collect();
                    let ranked = fold(index, &scored, &self.request);
                    Stage::Details {
                        query,
                        ranked,
                        reranked,
                    }
                }
                Stage::Details {
                    query,
                    ranked,
                    reranked,
                } => {
                    let mut positions = Vec::with_capacity(ranked.len());
                    let mut versions = Vec::new();
                    for ((_, p), folded) in &ranked {
                        positions.push(*p);
                        for &(_, v) in folded {
                            versions.push(v);
                        }
                    }
                    if let Some(needs) =
                        details_needs(index, &positions, &versions, &mut self.notes)?
                    {
                        self.stage = Stage::Details {
                            query,
                            ranked,
                            reranked,
                        };
                        return Ok(Step::Need(needs));
                    }
                    let hits = ranked
                        .iter()
                        .map(|&((score, p), ref versions)| {
                            let best = best_segment(index, p, &query.vector);
                            parted_hit(index, score, p, best, versions)
                        })
                        .collect();
                    return Ok(Step::Done(SearchOutcome {
                        hits,
                        approximate: self.approximate,
                        notes: self.notes.iter().cloned().collect(),
                        reranked,
                        reference_track: None,
                        from_neighbours: false,
                    }));
                }
            };
        }
    }
}

/// A catalog track's unit embedding: its re-ranking row, or its compact code when the row
/// could not be fetched.
fn track_vector(index: &PartedIndex, position: u32) -> Vec<f32> {
    let mut v: Vec<f32> = match index.rerank_vector(position) {
        Some(row) => row,
        None => decode_code(index, position),
    };
    crate::index::vectors::l2_normalize(&mut v);
    v
}

/// The vector a track's compact code stands for (its cell is loaded: see `resolve`).
fn decode_code(index: &PartedIndex, position: u32) -> Vec<f32> {
    let q = index.quantizer().expect("heads loaded");
    let Some(PartKey::Cell(_, cell)) = index.cell_key(position) else {
        unreachable!("heads loaded")
    };
    q.decode(
        cell as usize,
        index.code(position).expect("its cell was fetched"),
    )
}

/// `scored` (score, position), best first, as the request's rows: folded by version group
/// when it groups them (a row's group is in its re-ranking row; a track whose row is missing
/// stands alone), else the first `k` as they are.
fn fold(index: &PartedIndex, scored: &[(f32, u32)], request: &SearchRequest) -> Vec<Ranked> {
    if request.group_versions {
        return fold_versions(
            scored,
            &|p| index.hit_locator(p).map_or(p, |l| l.version_group),
            request.k,
        );
    }
    let mut rows = Vec::with_capacity(request.k);
    for &r in scored.iter().take(request.k) {
        rows.push((r, Vec::new()));
    }
    rows
}

/// A hit at a global position with its score, its details if fetched, `best`, its segment
/// closest to the query (start seconds, cosine) where known, and the versions folded under it.
fn parted_hit(
    index: &PartedIndex,
    score: f32,
    p: u32,
    best: Option<(f32, f32)>,
    versions: &[(f32, u32)],
) -> PartedHit {
    let track = index.track(p).cloned();
    let mut hit = PartedHit {
        hit: SearchHit {
            id: track.as_ref().map(|t| t.id.clone()).unwrap_or_default(),
            position: p as usize,
            score: score.clamp(-1.0, 1.0),
            best_segment_seconds: best.map(|b| b.0),
            best_segment_score: best.map(|b| b.1.clamp(-1.0, 1.0)),
            versions: Vec::with_capacity(versions.len()),
        },
        track,
    };
    for &(score, v) in versions {
        let t = index.track(v);
        hit.hit.versions.push(VersionHit {
            id: t.map(|t| t.id.clone()).unwrap_or_default(),
            position: v as usize,
            score: score.clamp(-1.0, 1.0),
            title: t.map(|t| t.title.clone()),
            duration_seconds: t.map(|t| t.duration_seconds),
        });
    }
    hit
}

/// The segment of a hit closest to the query: (start seconds, cosine), if its rows are loaded.
fn best_segment(index: &PartedIndex, position: u32, query: &[f32]) -> Option<(f32, f32)> {
    segments::best_segment(index.segment_bytes(position)?, index.dim(), query)
}

/// The metadata and segment rows of the hits at `positions`, and the metadata of the
/// `versions` folded under them, still missing; `None` once all are in (or failed and noted).
fn details_needs(
    index: &PartedIndex,
    positions: &[u32],
    versions: &[u32],
    notes: &mut BTreeSet<String>,
) -> Result<Option<Vec<Fetch>>> {
    // A hit whose re-ranking row is in says where its record and segments are: both are
    // fetched at once. Otherwise its metadata shard comes first, then the segments.
    let mut keys: Vec<PartKey> = Vec::with_capacity(positions.len() + versions.len());
    for &p in positions.iter().chain(versions) {
        keys.extend(index.hit_meta_key(p));
    }
    let mut needs = missing(
        index,
        keys.into_iter(),
        noting(notes, "Some track details could not be fetched"),
    )?;
    let keys: Vec<PartKey> = positions
        .iter()
        .filter(|&&p| index.track(p).is_some() || index.hit_locator(p).is_some())
        .map(|&p| PartKey::Segments(p))
        .collect();
    let more = missing(
        index,
        keys.into_iter(),
        noting(
            notes,
            "Where in each song the match lies could not be fetched",
        ),
    )?;
    needs.extend(more);
    Ok((!needs.is_empty()).then_some(needs))
}
