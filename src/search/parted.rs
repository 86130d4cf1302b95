//! Searching a published index ([`PartedIndex`]) in steps that say what to fetch.
//!
//! A [`SearchTask`] ranks in four stages, asking for parts between them:
//!
//! 1. **References**: catalog track ids → positions (id shards), and their embeddings (their
//!    re-ranking rows); the query is the Rocchio combination, as in the exact search.
//! 2. **Shortlist**: ADC over compact codes ([`crate::index::quantizer`]) picks the
//!    [`shortlist_len`] best tracks that pass the filters. Until the whole codes parts have
//!    arrived (at idle), only the cells of the quantiser's first stage nearest to the query
//!    are read ([`PROBE_CELLS`], more while they hold fewer than [`PROBE_MIN_ELIGIBLE`]
//!    eligible tracks), fetched by range: an inverted file.
//! 3. **Re-ranking**: the shortlist is re-scored with its int8 rows (fetched in blocks), which
//!    gives the order and scores of an exact scan to within int8 rounding.
//! 4. **Details**: metadata shards and segment rows of the `k` hits.
//!
//! Each [`SearchTask::step`] returns the pieces it needs ([`Step::Need`]) or the result. A part
//! that cannot be fetched degrades the answer where that is honest (ranking by the codes
//! alone, no best segment, no title) and says so in [`SearchOutcome::notes`]; an id shard that
//! is needed to know the reference fails the search with the part's name.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{
    Reference, SearchHit, SearchRequest, TagFilter, TopK, query_vector, reference_embedding,
};
use crate::error::{Error, Result};
use crate::index::TrackMeta;
use crate::index::parted::{Fetch, PartKey, PartedIndex};
use crate::index::parts::neighbours::Neighbour;
use crate::index::parts::segments;

/// Shortlist re-ranked for `k` results: `max(RERANK_FACTOR · k, RERANK_MIN)` tracks. At 600k
/// synthetic tracks, re-ranking 100 gives recall@10 0.92, 200 gives 0.97 (BENCHMARKS.md).
pub const RERANK_FACTOR: usize = 20;
/// The smallest shortlist.
pub const RERANK_MIN: usize = 200;

/// Cells of the quantiser's first stage (256) that a search probes while the whole codes are
/// not loaded: those whose centroids score best against the query.
pub const PROBE_CELLS: usize = 16;
/// Cells are probed (best first) until at least this many eligible tracks lie in them (or every
/// cell is probed), so a small catalog, or a filter that leaves few tracks, reads more cells. At
/// 600k synthetic tracks with a 1% filter, dropped files: 250 gives recall@10 0.968 for 5.0 MB
/// of catalog data, 500 gives 0.990 for 5.8 MB, 2,000 gives 0.992 for 10.3 MB
/// (`bench/results/recall-600000.json`, 60 queries).
pub const PROBE_MIN_ELIGIBLE: usize = 500;

/// Tracks re-scored with their re-ranking rows for a top-`k` search.
pub fn shortlist_len(k: usize) -> usize {
    (RERANK_FACTOR * k).max(RERANK_MIN)
}

/// The outcome of one step.
#[derive(Debug)]
pub enum Step<T> {
    /// Fetch these pieces ([`PartedIndex::provide`] or [`PartedIndex::fail`] each), then step
    /// again.
    Need(Vec<Fetch>),
    /// The answer.
    Done(T),
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
    /// The cells probed, best first, once chosen.
    cells: Option<Vec<u32>>,
    query: Option<Query>,
    shortlist: Option<Vec<(f32, u32)>>,
    ranked: Option<(Vec<(f32, u32)>, usize)>,
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

impl SearchTask {
    /// A task for `request` (references, k, filters, exclusions as in the exact search).
    pub fn new(request: SearchRequest) -> Result<Self> {
        request.check()?;
        Ok(SearchTask {
            shortlist_len: shortlist_len(request.k),
            request,
            probes: None,
            min_eligible: PROBE_MIN_ELIGIBLE,
            cells: None,
            query: None,
            shortlist: None,
            ranked: None,
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
        if self.query.is_none() {
            match self.resolve(index)? {
                Step::Need(n) => return Ok(Step::Need(n)),
                Step::Done(q) => self.query = Some(q),
            }
        }
        let query = self.query.as_ref().expect("resolved above");
        if self.ranked.is_none() {
            if self.shortlist.is_none() {
                let mask = eligible_mask(index, &self.request.filter, &query.excluded);
                let cells = self.cells.get_or_insert_with(|| {
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
                    return Ok(Step::Need(needs));
                }
                self.shortlist = Some(adc_shortlist(
                    index,
                    query,
                    cells,
                    &mask,
                    self.shortlist_len,
                ));
            }
            let shortlist = self.shortlist.as_ref().expect("set above");
            let keys = shortlist.iter().filter_map(|&(_, p)| index.rerank_key(p));
            let needs = missing(index, keys, |problem| {
                self.notes.insert(format!(
                    "Re-ranking was not possible for every track (ranked by compact codes instead): {problem}"
                ))
                ;
                true
            })?;
            if !needs.is_empty() {
                return Ok(Step::Need(needs));
            }
            let mut best = TopK::new(self.request.k);
            let mut reranked = 0;
            for &(approx, p) in shortlist.iter() {
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
            let ranked = best
                .into_sorted()
                .into_iter()
                .map(|(s, p)| (s, p as u32))
                .collect();
            self.ranked = Some((ranked, reranked));
        }
        let (ranked, reranked) = self.ranked.as_ref().expect("ranked above");
        let positions: Vec<u32> = ranked.iter().map(|&(_, p)| p).collect();
        if let Some(needs) = details_needs(index, &positions, &mut self.notes)? {
            return Ok(Step::Need(needs));
        }
        let hits = ranked
            .iter()
            .map(|&(score, p)| parted_hit(index, score, p, best_segment(index, p, &query.vector)))
            .collect();
        Ok(Step::Done(SearchOutcome {
            hits,
            approximate: self.approximate,
            notes: self.notes.iter().cloned().collect(),
            reranked: *reranked,
            reference_track: None,
            from_neighbours: false,
        }))
    }

    /// Stage 0, "Similar" on one catalog track: the answer from the track's neighbour list
    /// (computed at publication with the scores a re-ranked search gives), with the hits'
    /// details fetched by range where the list locates them. `None` when the lists cannot
    /// answer this request exactly (no lists, several references, a filter, exclusions, more
    /// hits than listed) or the list could not be fetched: the stages above answer it.
    fn answer_from_neighbours(
        &mut self,
        index: &mut PartedIndex,
    ) -> Result<Option<Step<SearchOutcome>>> {
        let r = &self.request;
        let Some(nb) = index.manifest().usable_neighbours() else {
            return Ok(None);
        };
        let listed = nb.k as usize + usize::from(!r.exclude_references);
        let id = match r.positive.as_slice() {
            [Reference::Track(id)]
                if r.negative.is_empty()
                    && r.filter.is_empty()
                    && r.exclude.is_empty()
                    && r.k <= listed =>
            {
                id.clone()
            }
            _ => return Ok(None),
        };
        let needs = missing(index, index.id_keys(&id).into_iter(), |_| false)?;
        if !needs.is_empty() {
            return Ok(Some(Step::Need(needs)));
        }
        let positions = index.positions_of(&id)?;
        if positions.is_empty() {
            return Err(Error::UnknownTrack(id));
        }
        let mut list_failed = None;
        let keys = positions.iter().map(|&p| PartKey::Neighbours(p));
        let needs = missing(index, keys, |problem| {
            list_failed = Some(problem.to_string());
            true
        })?;
        if let Some(problem) = list_failed {
            self.notes.insert(format!(
                "The track's neighbour list could not be fetched (the codes answered instead): {problem}"
            ));
            return Ok(None);
        }
        if !needs.is_empty() {
            return Ok(Some(Step::Need(needs)));
        }
        let Some((reference, list)) = positions.iter().rev().find_map(|&p| {
            index
                .neighbour_list(p)
                .filter(|l| !l.removed)
                .map(|l| (p, l))
        }) else {
            return Err(Error::UnknownTrack(id));
        };
        let skip = usize::from(r.exclude_references);
        let entries: Vec<Neighbour> = list.entries.iter().skip(skip).take(r.k).copied().collect();
        let listed = list.entries.len();
        // The reference's details and the hits' (their closest segments are in the list).
        let keys = std::iter::once(reference)
            .chain(entries.iter().map(|e| e.position))
            .map(PartKey::Record);
        let needs = missing(index, keys, |problem| {
            self.notes.insert(format!(
                "Some track details could not be fetched: {problem}"
            ));
            true
        })?;
        if !needs.is_empty() {
            return Ok(Some(Step::Need(needs)));
        }
        let hits = entries
            .iter()
            .map(|e| parted_hit(index, e.score, e.position, e.best_segment))
            .collect();
        Ok(Some(Step::Done(SearchOutcome {
            hits,
            approximate: false,
            notes: self.notes.iter().cloned().collect(),
            reranked: listed,
            reference_track: index.track(reference).cloned(),
            from_neighbours: true,
        })))
    }

    /// Stage 1: the query vector and the excluded positions.
    fn resolve(&mut self, index: &mut PartedIndex) -> Result<Step<Query>> {
        let r = &self.request;
        let track_ids = r
            .positive
            .iter()
            .chain(&r.negative)
            .filter_map(|x| match x {
                Reference::Track(id) => Some(id.as_str()),
                Reference::Embedding(_) => None,
            })
            .chain(r.exclude.iter().map(String::as_str));
        let id_keys: Vec<PartKey> = track_ids.flat_map(|id| index.id_keys(id)).collect();
        let needs = missing(index, id_keys.into_iter(), |_| false)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        let mut reference_positions = Vec::new();
        for x in r.positive.iter().chain(&r.negative) {
            if let Reference::Track(id) = x {
                let p = index
                    .position_of(id)?
                    .ok_or_else(|| Error::UnknownTrack(id.clone()))?;
                reference_positions.push(p);
            }
        }
        let keys = reference_positions
            .iter()
            .filter_map(|&p| index.rerank_key(p));
        let needs = missing(index, keys, |problem| {
            self.notes.insert(format!(
                "The reference's exact embedding could not be fetched (its compact code stands in): {problem}"
            ));
            true
        })?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        // Where a row could not be fetched, the code of its cell stands in.
        let keys = reference_positions
            .iter()
            .filter(|&&p| index.rerank_row(p).is_none())
            .filter_map(|&p| index.cell_key(p));
        let needs = missing(index, keys, |_| false)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        let dim = index.dim();
        let mut positions = reference_positions.into_iter();
        let mut mean = |refs: &[Reference]| -> Result<Vec<f32>> {
            let mut sum = vec![0.0f32; dim];
            for x in refs {
                let v = match x {
                    Reference::Track(_) => {
                        track_vector(index, positions.next().expect("one per track reference"))
                    }
                    Reference::Embedding(e) => reference_embedding(e, dim)?,
                };
                sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
            }
            sum.iter_mut().for_each(|s| *s /= refs.len() as f32);
            Ok(sum)
        };
        let positive = mean(&r.positive)?;
        let negative = if r.negative.is_empty() {
            None
        } else {
            Some(mean(&r.negative)?)
        };
        let vector = query_vector(positive, negative.as_deref())?;
        let mut excluded: Vec<u32> = r
            .exclude
            .iter()
            .filter_map(|id| index.position_of(id).ok().flatten())
            .collect();
        if r.exclude_references {
            for x in r.positive.iter().chain(&r.negative) {
                if let Reference::Track(id) = x {
                    excluded.extend(index.position_of(id)?);
                }
            }
        }
        Ok(Step::Done(Query { vector, excluded }))
    }
}

/// What a task needs first: every generation's cell table (with its removals), with
/// `quantizer` the quantiser (a search of the codes), with `filters` every filters part; the
/// first that failed fails the task.
fn heads_needed(index: &PartedIndex, quantizer: bool, filters: bool) -> Result<Vec<Fetch>> {
    let gens = index.manifest().generations.len() as u32;
    let mut keys: Vec<PartKey> = quantizer
        .then_some(PartKey::Quantizer)
        .into_iter()
        .collect();
    keys.extend((0..gens).map(PartKey::CodesHead));
    if filters {
        keys.extend((0..gens).map(PartKey::Filters));
    }
    missing(index, keys.into_iter(), |_| false)
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
    q.decode(index.code(position).expect("its cell was fetched"))
}

/// Bit `p` set where position `p` may be returned: passes the filter, not removed, not
/// excluded.
fn eligible_mask(index: &PartedIndex, filter: &TagFilter, excluded: &[u32]) -> Vec<u64> {
    let n = index.len();
    let mut mask = if filter.is_empty() {
        let mut m = vec![u64::MAX; n.div_ceil(64)];
        if !n.is_multiple_of(64) {
            *m.last_mut().unwrap() = (1u64 << (n % 64)) - 1;
        }
        m
    } else {
        filter.mask(index)
    };
    for (m, r) in mask.iter_mut().zip(index.removed_mask()) {
        *m &= !r;
    }
    for &p in excluded {
        mask[p as usize / 64] &= !(1 << (p % 64));
    }
    mask
}

/// The cells to probe, best first: every cell once the whole codes are in (unless `probes`
/// says otherwise), else the [`PROBE_CELLS`] (or `probes`) whose first-stage centroids score
/// best against `query`, then more while fewer than `min_eligible` eligible tracks (bits of
/// `mask`) lie in them.
fn probed_cells(
    index: &PartedIndex,
    query: &[f32],
    mask: &[u64],
    probes: Option<usize>,
    min_eligible: usize,
) -> Vec<u32> {
    let q = index.quantizer().expect("heads loaded");
    let cells = q.centroids as usize;
    let whole =
        (0..index.manifest().generations.len()).all(|g| index.has(PartKey::Codes(g as u32)));
    let probes = match probes {
        Some(n) => n.min(cells),
        None if whole => return (0..cells as u32).collect(),
        None => PROBE_CELLS.min(cells),
    };
    // Every cell, best first (the shortlist's TopK: no other sort in the search module).
    let mut order = TopK::new(cells);
    for c in 0..cells {
        let centroid = q.codeword(0, c);
        order.push(centroid.iter().zip(query).map(|(a, b)| a * b).sum(), c);
    }
    let eligible_in = |c: usize| -> usize {
        index
            .manifest()
            .generations
            .iter()
            .map(|g| {
                let head = &index
                    .codes_state(g.generation as usize)
                    .expect("heads in")
                    .head;
                let r = head.cell(c);
                let first = g.first_position as usize;
                count_bits(mask, first + r.start, first + r.end)
            })
            .sum()
    };
    let mut chosen = Vec::new();
    let mut eligible = 0;
    for (_, c) in order.into_sorted() {
        if chosen.len() >= probes && eligible >= min_eligible {
            break;
        }
        eligible += eligible_in(c);
        chosen.push(c as u32);
    }
    chosen
}

/// Set bits of `mask` in positions `from..to`.
fn count_bits(mask: &[u64], from: usize, to: usize) -> usize {
    (from..to)
        .filter(|&p| mask[p / 64] & (1 << (p % 64)) != 0)
        .count()
}

/// Stage 2: ADC over the eligible tracks of the probed `cells`, the `len` best.
fn adc_shortlist(
    index: &PartedIndex,
    query: &Query,
    cells: &[u32],
    mask: &[u64],
    len: usize,
) -> Vec<(f32, u32)> {
    let quantizer = index.quantizer().expect("heads loaded");
    let table = quantizer.adc_table(&query.vector);
    let m = quantizer.code_len();
    let mut best = TopK::new(len);
    let mut threshold = best.threshold();
    for g in &index.manifest().generations {
        let state = index
            .codes_state(g.generation as usize)
            .expect("heads loaded");
        let first = g.first_position as usize;
        for &c in cells {
            let range = state.head.cell(c as usize);
            if range.is_empty() {
                continue;
            }
            let codes = &state.codes[range.start * m..range.end * m];
            for (i, code) in codes.chunks_exact(m).enumerate() {
                let p = first + range.start + i;
                if mask[p / 64] & (1 << (p % 64)) == 0 {
                    continue;
                }
                let score = table.score(code);
                if score > threshold {
                    best.push(score, p);
                    threshold = best.threshold();
                }
            }
        }
    }
    best.into_sorted()
        .into_iter()
        .map(|(s, p)| (s, p as u32))
        .collect()
}

/// A hit at a global position with its score, its details if fetched, and `best`, its segment
/// closest to the query (start seconds, cosine) where known.
fn parted_hit(index: &PartedIndex, score: f32, p: u32, best: Option<(f32, f32)>) -> PartedHit {
    let track = index.track(p).cloned();
    PartedHit {
        hit: SearchHit {
            id: track.as_ref().map(|t| t.id.clone()).unwrap_or_default(),
            position: p as usize,
            score: score.clamp(-1.0, 1.0),
            best_segment_seconds: best.map(|b| b.0),
            best_segment_score: best.map(|b| b.1.clamp(-1.0, 1.0)),
        },
        track,
    }
}

/// The segment of a hit closest to the query: (start seconds, cosine), if its rows are loaded.
fn best_segment(index: &PartedIndex, position: u32, query: &[f32]) -> Option<(f32, f32)> {
    segments::best_segment(index.segment_bytes(position)?, index.dim(), query)
}

/// What is missing among `keys`: their fetches, skipping loaded ones. The problem of a key that
/// failed before is handed to `tolerate`: it notes the loss and returns true, or returns false to fail the
/// search with the part's own error.
fn missing(
    index: &PartedIndex,
    keys: impl Iterator<Item = PartKey>,
    mut tolerate: impl FnMut(&str) -> bool,
) -> Result<Vec<Fetch>> {
    missing_among(index, keys.collect(), &mut tolerate)
}

/// The body of [`missing`], one copy for every caller (the search module is downloaded first).
#[inline(never)]
fn missing_among(
    index: &PartedIndex,
    unique: BTreeSet<PartKey>,
    tolerate: &mut dyn FnMut(&str) -> bool,
) -> Result<Vec<Fetch>> {
    let mut out = Vec::new();
    for key in unique {
        if index.has(key) {
            continue;
        }
        if let Some(problem) = index.failure(key) {
            if !tolerate(problem) {
                return Err(Error::InvalidIndex(problem.to_string()));
            }
            continue;
        }
        out.extend(index.fetch_for(key));
    }
    Ok(out)
}

/// Metadata shards, then segment rows, of `positions`; `None` once all are in (or failed and
/// noted).
fn details_needs(
    index: &PartedIndex,
    positions: &[u32],
    notes: &mut BTreeSet<String>,
) -> Result<Option<Vec<Fetch>>> {
    let keys = positions.iter().filter_map(|&p| index.meta_key(p));
    let needs = missing(index, keys, |problem| {
        notes.insert(format!(
            "Some track details could not be fetched: {problem}"
        ));
        true
    })?;
    if !needs.is_empty() {
        return Ok(Some(needs));
    }
    let keys = positions
        .iter()
        .filter(|&&p| index.track(p).is_some())
        .map(|&p| PartKey::Segments(p));
    let needs = missing(index, keys, |problem| {
        notes.insert(format!(
            "Where in each song the match lies could not be fetched: {problem}"
        ));
        true
    })?;
    Ok((!needs.is_empty()).then_some(needs))
}

/// A page of the catalog without a reference: the live tracks that pass a filter, in index
/// order, `limit` of them from `offset` on.
#[derive(Debug)]
pub struct BrowseTask {
    filter: TagFilter,
    offset: usize,
    limit: usize,
    /// The page and the total, once the cell tables (and filters) are in.
    page: Option<(Vec<u32>, usize)>,
    notes: BTreeSet<String>,
}

/// A finished browse.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowseOutcome {
    /// Live tracks that pass the filter, in all.
    pub total: usize,
    /// The page: `(position, metadata if its shard could be fetched)`.
    pub rows: Vec<BrowseRow>,
    /// What could not be fetched.
    pub notes: Vec<String>,
}

/// One row of a browse page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowseRow {
    /// Global position.
    pub position: u32,
    /// The track, if its shard could be fetched.
    pub track: Option<TrackMeta>,
}

/// The most rows one browse page lists (each row fetches its track's metadata): a larger
/// `limit` is cut to it.
pub const MAX_BROWSE_ROWS: usize = 1000;

impl BrowseTask {
    /// The page `offset..offset + limit` of the tracks passing `filter` (`limit` at most
    /// [`MAX_BROWSE_ROWS`]).
    pub fn new(filter: &TagFilter, offset: usize, limit: usize) -> Self {
        BrowseTask {
            filter: filter.clone(),
            offset,
            limit: limit.min(MAX_BROWSE_ROWS),
            page: None,
            notes: BTreeSet::new(),
        }
    }

    /// Advances: asks for the cell tables (removals) and the filters parts (tags, tempo),
    /// then metadata shards, then answers.
    pub fn step(&mut self, index: &mut PartedIndex) -> Result<Step<BrowseOutcome>> {
        let needs = heads_needed(index, false, !self.filter.is_empty())?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        let (positions, total) = self.page.get_or_insert_with(|| {
            let mask = eligible_mask(index, &self.filter, &[]);
            let eligible =
                (0..index.len() as u32).filter(|&p| mask[p as usize / 64] & (1 << (p % 64)) != 0);
            let total = mask.iter().map(|w| w.count_ones() as usize).sum();
            (eligible.skip(self.offset).take(self.limit).collect(), total)
        });
        let (positions, total) = (positions.clone(), *total);
        let keys = positions.iter().filter_map(|&p| index.meta_key(p));
        let notes = &mut self.notes;
        let needs = missing(index, keys, |problem| {
            notes.insert(format!(
                "Some track details could not be fetched: {problem}"
            ));
            true
        })?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        Ok(Step::Done(BrowseOutcome {
            total,
            rows: positions
                .iter()
                .map(|&p| BrowseRow {
                    position: p,
                    track: index.track(p).cloned(),
                })
                .collect(),
            notes: self.notes.iter().cloned().collect(),
        }))
    }
}

/// The metadata of catalog tracks by id (e.g. a reference to show while its search runs).
#[derive(Debug)]
pub struct LookupTask {
    ids: Vec<String>,
}

impl LookupTask {
    /// Looks up `ids`.
    pub fn new(ids: Vec<String>) -> Self {
        LookupTask { ids }
    }

    /// Advances: the cell tables (removals), id buckets, then metadata shards; answers one
    /// entry per id (`None`: no such live track). A piece that cannot be fetched fails the
    /// lookup with its name.
    pub fn step(&mut self, index: &mut PartedIndex) -> Result<Step<Vec<Option<BrowseRow>>>> {
        let needs = heads_needed(index, false, false)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        let keys: Vec<PartKey> = self.ids.iter().flat_map(|id| index.id_keys(id)).collect();
        let needs = missing(index, keys.into_iter(), |_| false)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        let positions: Vec<Option<u32>> = self
            .ids
            .iter()
            .map(|id| index.position_of(id))
            .collect::<Result<_>>()?;
        let keys = positions
            .iter()
            .flatten()
            .filter_map(|&p| index.meta_key(p));
        let needs = missing(index, keys, |_| false)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        Ok(Step::Done(
            positions
                .into_iter()
                .map(|p| {
                    p.map(|position| BrowseRow {
                        position,
                        track: index.track(position).cloned(),
                    })
                })
                .collect(),
        ))
    }
}

/// Runs a task to the end, fetching with `read` (e.g. from local files): the whole loop of
/// the browser's worker, for the CLI and tests.
pub fn run_to_end<T>(
    index: &mut PartedIndex,
    mut step: impl FnMut(&mut PartedIndex) -> Result<Step<T>>,
    mut read: impl FnMut(&Fetch) -> Result<Vec<u8>>,
) -> Result<T> {
    index.trim_caches();
    loop {
        match step(index)? {
            Step::Done(t) => return Ok(t),
            Step::Need(needs) => {
                if needs.is_empty() {
                    return Err(Error::InvalidIndex(
                        "a search step asked for nothing yet could not go on".into(),
                    ));
                }
                for f in needs {
                    let key: PartKey = f.key.parse()?;
                    match read(&f).and_then(|bytes| index.provide(key, &bytes)) {
                        Ok(()) => {}
                        Err(e) => index.fail(key, e.to_string()),
                    }
                }
            }
        }
    }
}
