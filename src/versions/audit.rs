//! The version audit of a catalog: which of its tracks are versions of which (a cut-down, a
//! loop, a re-encoding, another mastering), from the fingerprints and segment embeddings the
//! index already holds, merged with what the store declared (`version_of`).
//!
//! Comparing every pair is out of the question at 600k tracks (1.8 · 10¹¹ pairs). A version
//! sounds like its original, so each track's nearest neighbours by embedding are the
//! candidates ([`AuditOptions::neighbours`], above [`AuditOptions::min_cosine`]); each
//! candidate pair is then verified peak by peak ([`super::compare_either`]) and by timbre
//! ([`super::aligned_similarity`]). The candidates' recall is measured in `bench/versions/`
//! (BENCHMARKS.md, "Versions").
//!
//! Deterministic: pairs are sorted and verified independently, so an index built on one
//! machine and one merged from shards get the same links.

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;

use super::{Comparison, Fingerprint, aligned_similarity, compare_either};
use crate::Segment;
use crate::error::{Error, Result};
use crate::index::neighbour_lists::{EXACT_UP_TO, NeighbourInput, nearest_neighbours_of};
use crate::index::{CatalogIndex, LinkSource, VersionLink};

/// How the audit chooses its candidates.
#[derive(Debug, Clone, Copy)]
pub struct AuditOptions {
    /// Nearest neighbours by embedding compared with each audited track.
    pub neighbours: usize,
    /// Least cosine of the track embeddings of a candidate pair.
    pub min_cosine: f32,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            neighbours: DEFAULT_NEIGHBOURS,
            min_cosine: DEFAULT_MIN_COSINE,
        }
    }
}

/// Candidates per audited track (see `bench/versions/`: the versions of a track are among its
/// nearest neighbours by embedding).
pub const DEFAULT_NEIGHBOURS: usize = 10;
/// Least embedding cosine of a candidate pair.
pub const DEFAULT_MIN_COSINE: f32 = 0.5;

/// Cells probed for a track's candidates in a catalog of more than
/// [`crate::index::neighbour_lists::EXACT_UP_TO`] tracks: a version's nearest neighbours are its
/// other versions, in the cells nearest to it.
const AUDIT_PROBES: usize = 16;

/// Candidate pairs verified together (each chunk decodes the fingerprints it needs once).
const VERIFY_CHUNK_PAIRS: usize = 2048;

/// Which tracks an audit looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditScope {
    /// Every track against every other (a build, a merge).
    All,
    /// The tracks from this position on against all (an `add`): earlier links are kept.
    From(u32),
}

/// What an audit found and did.
#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    /// Every link of the index (kept, detected and declared), for [`CatalogIndex::set_versions`].
    pub links: Vec<VersionLink>,
    /// Tracks with a fingerprint.
    pub fingerprinted: usize,
    /// Candidate pairs compared.
    pub compared: usize,
    /// Links the audit found.
    pub detected: usize,
    /// Declared links the audit confirmed, and declared links it did not.
    pub confirmed: usize,
    pub unconfirmed: usize,
    /// `(track, declared id)` where the declared id is not in the index.
    pub unknown_declared: Vec<(String, String)>,
    /// Wall time, in seconds: all of it, and the candidates' search.
    pub seconds: f64,
    pub candidate_seconds: f64,
}

/// A track's segment embeddings as the index stores them.
pub fn track_segments(index: &CatalogIndex, position: usize) -> Vec<Segment> {
    let table = index.segments();
    index
        .segment_range(position)
        .map(|s| Segment {
            start_seconds: f64::from(table.starts_seconds[s]),
            embedding: table.vectors.row(s),
        })
        .collect()
}

/// Track `position`'s fingerprint, if it has one.
pub fn track_fingerprint(index: &CatalogIndex, position: usize) -> Result<Option<Fingerprint>> {
    index
        .fingerprints()
        .get(position)
        .map(|bytes| {
            Fingerprint::from_bytes(bytes).map_err(|e| {
                Error::InvalidIndex(format!(
                    "track `{}`: its fingerprint: {e}",
                    index.tracks()[position].id
                ))
            })
        })
        .transpose()
}

/// Compares two tracks (fingerprints and segments), the shorter as the query; `true` when the
/// second was the query.
pub fn compare_tracks(
    a: (&Fingerprint, &[Segment]),
    b: (&Fingerprint, &[Segment]),
    segment_seconds: f64,
) -> (Comparison, bool) {
    let (mut c, swapped) = compare_either(a.0, b.0);
    let (q, r) = if swapped { (b, a) } else { (a, b) };
    c.timbre_similarity = aligned_similarity(&c, q.1, r.1, segment_seconds);
    (c, swapped)
}

/// The link a comparison makes between `query` (the shorter) and `reference`.
pub fn link_of(c: &Comparison, query: u32, reference: u32, source: LinkSource) -> VersionLink {
    let best = c.alignments.iter().max_by_key(|a| a.peaks);
    VersionLink {
        part: query,
        whole: reference,
        source,
        score: c.score(),
        timbre: c.timbre_similarity.unwrap_or(f32::NAN),
        tempo_ratio: c.tempo_ratio,
        pitch_semitones: c.pitch_semitones,
        part_span: best.map_or((0.0, 0.0), |a| a.query_span),
        whole_span: best.map_or((0.0, 0.0), |a| a.reference_span),
    }
}

/// Audits `index` (see the module docs) and returns every link it should hold.
pub fn audit(
    index: &CatalogIndex,
    scope: AuditScope,
    options: AuditOptions,
) -> Result<AuditReport> {
    let started = Instant::now();
    let n = index.len();
    let dim = index.dim();
    let from = match scope {
        AuditScope::All => 0,
        AuditScope::From(p) => (p as usize).min(n),
    };
    let has_fingerprint: Vec<bool> = (0..n)
        .map(|t| index.fingerprints().get(t).is_some())
        .collect();
    let mut report = AuditReport {
        fingerprinted: has_fingerprint.iter().filter(|x| **x).count(),
        ..Default::default()
    };

    // Candidates: each audited track's nearest neighbours among the fingerprinted ones (none
    // when no track has a fingerprint: an index imported from embeddings).
    if report.fingerprinted == 0 {
        return finish_with_declared(index, Vec::new(), report, started);
    }
    let rows: Vec<f32> = (0..n).flat_map(|t| index.embedding(t)).collect();
    let (centroids, cells) = if n > EXACT_UP_TO {
        crate::index::train::coarse_cells(&rows, dim)?
    } else {
        (vec![0.0; dim], vec![0; n])
    };
    let input = NeighbourInput {
        dim,
        rows: &rows,
        live: &has_fingerprint,
        cells: &cells,
        centroids: &centroids,
    };
    let audited: Vec<u32> = (from as u32..n as u32)
        .filter(|&t| has_fingerprint[t as usize])
        .collect();
    let probes = AUDIT_PROBES.min(centroids.len() / dim.max(1)).max(1);
    let lists = nearest_neighbours_of(&input, &audited, options.neighbours, probes);
    let mut pairs: Vec<(u32, u32)> = audited
        .iter()
        .zip(&lists)
        .flat_map(|(&p, list)| {
            list.iter()
                .filter(|(cosine, _)| *cosine >= options.min_cosine)
                .map(move |&(_, t)| (p.min(t), p.max(t)))
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    report.compared = pairs.len();
    report.candidate_seconds = started.elapsed().as_secs_f64();

    // Verification, in chunks of pairs whose first tracks are neighbours (in cell order): a chunk
    // decodes each track it touches once, and a track's candidates are mostly its cell's own
    // tracks. The decoded forms of all tracks would not fit in memory at store scale (≈ 0.2 MB
    // each).
    let segment_seconds = index.header().analysis.patch_seconds();
    pairs.sort_unstable_by_key(|&(a, b)| (cells[a as usize], a, b));
    let verified: Vec<Vec<VersionLink>> = pairs
        .par_chunks(VERIFY_CHUNK_PAIRS)
        .map(|chunk| -> Result<Vec<VersionLink>> {
            let mut decoded: HashMap<u32, Option<(Fingerprint, Vec<Segment>)>> = HashMap::new();
            for &(a, b) in chunk {
                for t in [a, b] {
                    if let std::collections::hash_map::Entry::Vacant(e) = decoded.entry(t) {
                        let fingerprint = track_fingerprint(index, t as usize)?;
                        e.insert(fingerprint.map(|f| (f, track_segments(index, t as usize))));
                    }
                }
            }
            let mut links = Vec::new();
            for &(a, b) in chunk {
                let (Some((fa, sa)), Some((fb, sb))) = (&decoded[&a], &decoded[&b]) else {
                    continue;
                };
                let (c, swapped) = compare_tracks((fa, sa), (fb, sb), segment_seconds);
                let (q, r) = if swapped { (b, a) } else { (a, b) };
                if c.is_version() {
                    links.push(link_of(&c, q, r, LinkSource::Detected));
                }
            }
            Ok(links)
        })
        .collect::<Result<_>>()?;
    let mut links: Vec<VersionLink> = match scope {
        AuditScope::All => Vec::new(),
        // Earlier links among earlier tracks stay (declared ones are redone below, from the
        // index's declared links).
        AuditScope::From(_) => index
            .versions()
            .links
            .iter()
            .filter(|l| {
                (l.part as usize) < from
                    && (l.whole as usize) < from
                    && l.source != LinkSource::Declared
            })
            .map(|l| VersionLink {
                source: LinkSource::Detected,
                ..*l
            })
            .collect(),
    };
    links.extend(verified.into_iter().flatten());
    report.detected = links.len();
    finish_with_declared(index, links, report, started)
}

/// Adds what the store declared to the detected `links` (confirmed where a detected link joins
/// the same two tracks) and completes the report.
fn finish_with_declared(
    index: &CatalogIndex,
    mut links: Vec<VersionLink>,
    mut report: AuditReport,
    started: Instant,
) -> Result<AuditReport> {
    // What the store declared: confirmed where a detected link joins the same two tracks.
    let mut by_pair: HashMap<(u32, u32), usize> = links
        .iter()
        .enumerate()
        .map(|(i, l)| ((l.part.min(l.whole), l.part.max(l.whole)), i))
        .collect();
    // What the store declared (kept in the index from the manifests it was built from).
    let mut declared: Vec<(usize, usize)> = Vec::new();
    for (t, id) in &index.versions().declared {
        let t = *t as usize;
        match index.position(id) {
            Some(u) => declared.push((t, u)),
            None => report
                .unknown_declared
                .push((index.tracks()[t].id.clone(), id.clone())),
        }
    }
    for (t, u) in declared {
        {
            if u == t || u >= index.len() || t >= index.len() {
                continue;
            }
            let key = (t.min(u) as u32, t.max(u) as u32);
            if let Some(&i) = by_pair.get(&key) {
                if links[i].source != LinkSource::Both {
                    links[i].source = LinkSource::Both;
                    report.confirmed += 1;
                }
                continue;
            }
            // Not confirmed: as the store put it (`t` is a version of `u`).
            by_pair.insert(key, links.len());
            links.push(VersionLink {
                part: t as u32,
                whole: u as u32,
                source: LinkSource::Declared,
                score: 0.0,
                timbre: f32::NAN,
                tempo_ratio: 1.0,
                pitch_semitones: 0.0,
                part_span: (0.0, 0.0),
                whole_span: (0.0, 0.0),
            });
            report.unconfirmed += 1;
        }
    }
    report.links = links;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Audits `index` and stores the links it should hold ([`CatalogIndex::set_versions`]); the
/// report keeps its counts, not the links.
pub fn audit_into(
    index: &mut CatalogIndex,
    scope: AuditScope,
    options: AuditOptions,
) -> Result<AuditReport> {
    let mut report = audit(index, scope, options)?;
    index.set_versions(std::mem::take(&mut report.links));
    Ok(report)
}
