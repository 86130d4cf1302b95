//! Ranking the catalog: cosine top-k with references, "less like this", tag filters and the
//! best-matching segment of every result.
//!
//! Two indexes, one set of rules: [`search`] scans a [`CatalogIndex`] exactly (the CLI's
//! one-file index); [`parted`] ranks a published index by its compact codes and re-scores the
//! shortlist, fetching what it needs as it goes.
//!
//! The query vector follows Rocchio: `q = mean(positive) − NEGATIVE_WEIGHT · mean(negative)`,
//! normalised, where each reference is a unit embedding (a catalog track's or one computed from
//! a file). Every catalog track that passes the filters is scored by `cos(q, track)`; with one
//! positive reference and no negative one the score is simply the cosine similarity to it.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::vectors::QuantizedQuery;
use crate::index::vectors::l2_normalize;
use crate::index::{CatalogIndex, Postings, Tags, TrackMeta, VectorStore};
use crate::tempo::filter::TempoFilter;

pub mod parted;
pub mod versions;

pub use versions::VersionHit;

/// Weight of the "less like this" references in the query vector.
pub const NEGATIVE_WEIGHT: f32 = 0.5;
/// Most results one search returns.
pub const MAX_K: usize = 1000;

/// A reference: a catalog track (by id) or an embedding computed from audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reference {
    /// A track of the index.
    Track(String),
    /// An embedding from the same model as the index (normalised here).
    Embedding(Vec<f32>),
}

/// Which tracks may appear in the results.
///
/// Within a category any listed value matches (any-of); across categories all must match
/// (all-of). `catalog` looks at the store's tags, `predicted` at the model's. With `outside`
/// set the tag filter is inverted: only tracks that do *not* match are kept (tracks without the
/// tags, or with other values), for buyers who want to leave the tags they picked. The tempo
/// conditions apply either way: "outside these tags, at 90–110 BPM".
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TagFilter {
    /// Catalog tags: category → accepted values.
    pub catalog: Tags,
    /// Predicted tags: category → accepted values.
    pub predicted: Tags,
    /// Keep the tracks that do not match the tags instead.
    pub outside: bool,
    /// Tempo range and "similar tempo", on the tracks' predicted tempo.
    pub tempo: TempoFilter,
}

impl TagFilter {
    /// True when the filter restricts nothing.
    pub fn is_empty(&self) -> bool {
        self.tags_empty() && self.tempo.is_empty()
    }

    /// True when no tag is asked for (`outside` then means nothing).
    pub fn tags_empty(&self) -> bool {
        self.catalog.values().all(Vec::is_empty) && self.predicted.values().all(Vec::is_empty)
    }

    /// Whether `track` passes (the definition; [`search`] uses the equivalent [`Self::mask`]).
    pub fn accepts(&self, track: &TrackMeta) -> bool {
        let tags = self.tags_empty() || {
            let matches = matches_all(&self.catalog, &track.tags)
                && matches_all(&self.predicted, &track.predicted);
            matches != self.outside
        };
        tags && self.tempo.accepts(filter_bpm(track))
    }

    /// One bit per track of `index` (bit `i % 64` of word `i / 64`), set where the track passes;
    /// computed from the index's posting lists, so its cost grows with the tagged tracks, not
    /// with the tags of every track.
    pub fn mask(&self, index: &impl TagSource) -> Vec<u64> {
        let n = index.positions();
        let words = n.div_ceil(64);
        let mut mask = vec![u64::MAX; words];
        if !self.tags_empty() {
            self.tag_mask(index, &mut mask);
        }
        if !self.tempo.is_empty() {
            for p in 0..n {
                if !self.tempo.accepts(index.tempo_bpm(p)) {
                    mask[p / 64] &= !(1 << (p % 64));
                }
            }
        }
        // Bits past the last track stay clear.
        if !n.is_multiple_of(64) {
            mask[words - 1] &= (1u64 << (n % 64)) - 1;
        }
        mask
    }

    /// Clears the bits of `mask` whose tracks fail the tag part (with `outside` applied).
    fn tag_mask(&self, index: &impl TagSource, mask: &mut [u64]) {
        let words = mask.len();
        for (wanted, postings) in [
            (&self.catalog, index.postings(false)),
            (&self.predicted, index.postings(true)),
        ] {
            for (category, values) in wanted.iter().filter(|(_, v)| !v.is_empty()) {
                let mut any = vec![0u64; words];
                if let Some(per_value) = postings.get(category) {
                    for list in values.iter().filter_map(|v| per_value.get(v)) {
                        for &p in list {
                            any[p as usize / 64] |= 1 << (p % 64);
                        }
                    }
                }
                mask.iter_mut().zip(&any).for_each(|(m, a)| *m &= a);
            }
        }
        if self.outside {
            mask.iter_mut().for_each(|m| *m = !*m);
        }
    }
}

/// The tempo a filter sees for a track: its clear predicted tempo at the one-BPM precision a
/// published index stores ([`crate::tempo::code`]), so both forms of an index filter alike.
pub fn filter_bpm(track: &TrackMeta) -> Option<f32> {
    crate::tempo::code::decode(crate::tempo::code::encode(
        track.tempo.and_then(|t| t.clear_bpm()),
    ))
}

/// An index whose tracks can be filtered: positions `0..positions()`, posting lists and
/// tempi.
pub trait TagSource {
    /// Number of track positions.
    fn positions(&self) -> usize;
    /// Catalog (or, with `predicted`, model-predicted) tag postings.
    fn postings(&self, predicted: bool) -> &Postings;
    /// The clear predicted tempo at `position`, in whole BPM ([`filter_bpm`]).
    fn tempo_bpm(&self, position: usize) -> Option<f32>;
}

impl TagSource for CatalogIndex {
    fn positions(&self) -> usize {
        self.len()
    }
    fn postings(&self, predicted: bool) -> &Postings {
        CatalogIndex::postings(self, predicted)
    }
    fn tempo_bpm(&self, position: usize) -> Option<f32> {
        filter_bpm(&self.tracks()[position])
    }
}

impl TagSource for crate::index::parted::PartedIndex {
    fn positions(&self) -> usize {
        self.len()
    }
    fn postings(&self, predicted: bool) -> &Postings {
        crate::index::parted::PartedIndex::postings(self, predicted)
    }
    fn tempo_bpm(&self, position: usize) -> Option<f32> {
        crate::index::parted::PartedIndex::tempo_bpm(self, position as u32)
    }
}

fn matches_all(wanted: &Tags, has: &Tags) -> bool {
    wanted
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .all(|(cat, values)| {
            has.get(cat)
                .is_some_and(|have| have.iter().any(|h| values.contains(h)))
        })
}

/// One search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchRequest {
    /// "More like these" (at least one).
    pub positive: Vec<Reference>,
    /// "Less like these".
    pub negative: Vec<Reference>,
    /// Number of results wanted (1..=[`MAX_K`]).
    pub k: usize,
    /// Tag filter.
    pub filter: TagFilter,
    /// Track ids never to return.
    pub exclude: Vec<String>,
    /// Leave out the reference tracks themselves (default true).
    pub exclude_references: bool,
    /// One row per song: a track's versions (cut-downs, loops, re-encodings) fold under the
    /// best-ranked of them ([`SearchHit::versions`]) instead of taking rows of their own.
    pub group_versions: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            positive: Vec::new(),
            negative: Vec::new(),
            k: 10,
            filter: TagFilter::default(),
            exclude: Vec::new(),
            exclude_references: true,
            group_versions: false,
        }
    }
}

impl SearchRequest {
    /// Errors unless the request can be answered: at least one positive reference, `k` in
    /// `1..=MAX_K`.
    pub fn check(&self) -> Result<()> {
        if self.positive.is_empty() {
            return Err(Error::InvalidQuery(
                "give at least one reference (a track or an audio file)".into(),
            ));
        }
        if !(1..=MAX_K).contains(&self.k) {
            return Err(Error::InvalidQuery(format!(
                "k = {} is outside 1..={MAX_K}",
                self.k
            )));
        }
        self.filter.tempo.check()
    }

    /// Tracks similar to the catalog track `id`.
    pub fn similar_to_track(id: &str, k: usize) -> Self {
        SearchRequest {
            positive: vec![Reference::Track(id.to_string())],
            k,
            ..Default::default()
        }
    }

    /// Tracks similar to an embedding (e.g. of a dropped file).
    pub fn similar_to_embedding(embedding: Vec<f32>, k: usize) -> Self {
        SearchRequest {
            positive: vec![Reference::Embedding(embedding)],
            k,
            ..Default::default()
        }
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// Track id.
    pub id: String,
    /// Position of the track in the index.
    pub position: usize,
    /// Cosine similarity between the query vector and the track, in [-1, 1].
    pub score: f32,
    /// Start of the track's segment that best matches the query, in seconds.
    pub best_segment_seconds: Option<f32>,
    /// Cosine similarity of that segment to the query.
    pub best_segment_score: Option<f32>,
    /// Its versions among the results, best first, when the request grouped them
    /// ([`SearchRequest::group_versions`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<VersionHit>,
}

/// Ranks the index for `request`; results are ordered by decreasing score (ties by position).
pub fn search(index: &CatalogIndex, request: &SearchRequest) -> Result<Vec<SearchHit>> {
    request.check()?;
    let mut excluded: Vec<bool> = vec![false; index.len()];
    for id in &request.exclude {
        if let Some(p) = index.position(id) {
            excluded[p] = true;
        }
    }
    let positive = mean_of(index, &request.positive, &mut excluded, request)?;
    let negative = if request.negative.is_empty() {
        None
    } else {
        Some(mean_of(index, &request.negative, &mut excluded, request)?)
    };
    let query = query_vector(positive, negative.as_deref())?;

    let tracks = index.tracks();
    let mask = (!request.filter.is_empty()).then(|| request.filter.mask(index));
    let embeddings = index.embeddings();
    let eligible = excluded.iter().enumerate().filter_map(|(i, skip)| {
        let filtered_out = mask
            .as_ref()
            .is_some_and(|m| m[i / 64] & (1 << (i % 64)) == 0);
        (!skip && !filtered_out).then_some(i)
    });
    // Versions fold into rows after ranking: rank enough to fill k rows.
    let wanted = if request.group_versions {
        versions::candidates_for(request.k)
    } else {
        request.k
    };
    let ranked = match embeddings {
        VectorStore::F32 { .. } => top_k(wanted, eligible, |i| embeddings.dot(i, &query)),
        VectorStore::Int8 { dim, scales, codes } => {
            // Integer scores pick a shortlist; the exact f32 query orders it (and gives the
            // scores), so the result is what the f32-query scan would give, faster.
            let dim = *dim as usize;
            let q = QuantizedQuery::new(&query);
            let shortlist = top_k(SHORTLIST_FACTOR * wanted + SHORTLIST_EXTRA, eligible, |i| {
                q.dot(scales[i], &codes[i * dim..(i + 1) * dim])
            });
            top_k(wanted, shortlist.into_iter().map(|(_, i)| i), |i| {
                embeddings.dot(i, &query)
            })
        }
    };
    let ranked: Vec<(f32, u32)> = ranked.into_iter().map(|(s, p)| (s, p as u32)).collect();
    let rows = if request.group_versions {
        let groups = index.version_groups();
        versions::fold_versions(&ranked, &|p| groups[p as usize], request.k)
    } else {
        ranked.into_iter().map(|r| (r, Vec::new())).collect()
    };
    Ok(rows
        .into_iter()
        .map(|((score, position), others)| {
            let position = position as usize;
            let best = best_segment(index, position, &query);
            SearchHit {
                id: tracks[position].id.clone(),
                position,
                score: score.clamp(-1.0, 1.0),
                best_segment_seconds: best.map(|b| b.0),
                best_segment_score: best.map(|b| b.1.clamp(-1.0, 1.0)),
                versions: others
                    .into_iter()
                    .map(|(score, p)| (score, p as usize))
                    .map(|(score, p)| VersionHit {
                        id: tracks[p].id.clone(),
                        position: p,
                        score: score.clamp(-1.0, 1.0),
                        title: Some(tracks[p].title.clone()),
                        duration_seconds: Some(tracks[p].duration_seconds),
                    })
                    .collect(),
            }
        })
        .collect())
}

/// The segment of track `position` closest to `query`: (start seconds, cosine).
pub fn best_segment(index: &CatalogIndex, position: usize, query: &[f32]) -> Option<(f32, f32)> {
    let segments = index.segments();
    index
        .segment_range(position)
        .map(|s| (segments.starts_seconds[s], segments.vectors.dot(s, query)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The Rocchio query: `mean(positive) − NEGATIVE_WEIGHT · mean(negative)`, normalised.
pub fn query_vector(mut positive: Vec<f32>, negative: Option<&[f32]>) -> Result<Vec<f32>> {
    if let Some(negative) = negative {
        positive
            .iter_mut()
            .zip(negative)
            .for_each(|(q, n)| *q -= NEGATIVE_WEIGHT * n);
    }
    l2_normalize(&mut positive);
    if positive.iter().all(|v| *v == 0.0) {
        return Err(Error::InvalidQuery(
            "the references cancel out: nothing is left to search for".into(),
        ));
    }
    Ok(positive)
}

/// Checks a reference embedding's size and values; returns it normalised.
pub fn reference_embedding(e: &[f32], dim: usize) -> Result<Vec<f32>> {
    if e.len() != dim || !e.iter().all(|x| x.is_finite()) {
        return Err(Error::InvalidQuery(format!(
            "a reference embedding has {} values (or non-finite ones); the index needs {dim}",
            e.len()
        )));
    }
    let mut v = e.to_vec();
    l2_normalize(&mut v);
    Ok(v)
}

/// Mean of the references' unit embeddings; marks reference tracks as excluded when asked.
fn mean_of(
    index: &CatalogIndex,
    refs: &[Reference],
    excluded: &mut [bool],
    request: &SearchRequest,
) -> Result<Vec<f32>> {
    let dim = index.dim();
    let mut sum = vec![0.0f32; dim];
    for r in refs {
        let mut v = match r {
            Reference::Track(id) => {
                let p = index
                    .position(id)
                    .ok_or_else(|| Error::UnknownTrack(id.clone()))?;
                if request.exclude_references {
                    excluded[p] = true;
                }
                index.embedding(p)
            }
            Reference::Embedding(e) => reference_embedding(e, dim)?,
        };
        l2_normalize(&mut v);
        sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
    }
    let n = refs.len() as f32;
    sum.iter_mut().for_each(|s| *s /= n);
    Ok(sum)
}

/// Shortlist of an int8 scan, re-scored exactly: `SHORTLIST_FACTOR · k + SHORTLIST_EXTRA` rows.
const SHORTLIST_FACTOR: usize = 4;
const SHORTLIST_EXTRA: usize = 32;

/// The `k` best `(score, position)` of `positions`, best first (ties: lower position first).
fn top_k(
    k: usize,
    positions: impl Iterator<Item = usize>,
    score: impl Fn(usize) -> f32,
) -> Vec<(f32, usize)> {
    let mut best = TopK::new(k);
    for i in positions {
        best.push(score(i), i);
    }
    best.into_sorted()
}

/// Collects the `k` best `(score, position)` pairs pushed into it.
pub struct TopK {
    k: usize,
    heap: BinaryHeap<MinScore>,
}

impl TopK {
    /// An empty collector of the `k` best.
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// Offers one candidate.
    #[inline]
    pub fn push(&mut self, score: f32, position: usize) {
        if self.heap.len() < self.k {
            self.heap.push(MinScore(score, position));
        } else if self
            .heap
            .peek()
            .is_some_and(|worst| worst.beats(score, position))
        {
            self.heap.pop();
            self.heap.push(MinScore(score, position));
        }
    }

    /// The lowest score a candidate must beat to enter (−∞ until `k` are in).
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::NEG_INFINITY, |m| m.0)
        }
    }

    /// The collected pairs, best first (ties: lower position first).
    pub fn into_sorted(self) -> Vec<(f32, usize)> {
        let mut ranked: Vec<(f32, usize)> = self.heap.into_iter().map(|m| (m.0, m.1)).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked
    }
}

/// Heap entry ordered so that the *worst* hit (lowest score, then highest position) is on top.
#[derive(PartialEq)]
struct MinScore(f32, usize);

impl MinScore {
    /// Whether a candidate `(score, position)` ranks above this entry.
    fn beats(&self, score: f32, position: usize) -> bool {
        score > self.0 || (score == self.0 && position < self.1)
    }
}

impl Eq for MinScore {}

impl Ord for MinScore {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for MinScore {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
