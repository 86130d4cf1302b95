//! The neighbours part at publication: every position's nearest tracks, computed from the
//! re-ranking rows as a page's re-ranked search would score them, with each neighbour's
//! locator and closest segment (`crate::index::neighbour_lists`, `parts::neighbours`).
//!
//! What is held while the lists are computed, per position: its dequantised row (4 × dim
//! bytes), its cell, locator and version group (about 50 bytes), and every generation's
//! segment rows as stored (each neighbour's closest segment is read from them). The lists
//! themselves are computed and written [`BLOCK`] positions at a time, so the part (2 kB per
//! track with 64 neighbours) is never held whole.

use std::ops::Range;

use super::sink::PartWriter;
use crate::error::{Error, Result};
use crate::index::neighbour_lists::{NeighbourInput, NeighbourSearch, default_probes, recall_at};
use crate::index::parts::codes::{self, CodesHead};
use crate::index::parts::manifest::{Manifest, PartFile};
use crate::index::parts::meta::{each_shard, track_locators};
use crate::index::parts::neighbours::{Neighbour, NeighboursPart, TrackLocator, push_record};
use crate::index::parts::{PartKind, checksum_hex, range_seed, rerank, segments};
use crate::index::quantizer::Quantizer;

/// Positions whose lists are computed and written together (34 MB of records with 64
/// neighbours).
pub const BLOCK: usize = 16_384;

/// How the lists compare with an exhaustive scan, and what they cost.
#[derive(Debug, Clone, Copy)]
pub(super) struct ListStats {
    /// Recall@10 against an exhaustive scan, on a sample of about 200 positions.
    pub recall: f64,
    /// Seconds spent computing the lists (0 in wasm).
    pub seconds: f64,
}

/// Writes the neighbours part of `manifest` (lists of `k` for every position of every
/// generation) to `out` and names it in `manifest`, replacing any it had; `k = 0` writes none.
/// Parts that `out` did not write are read with `read_part`.
pub(super) fn add_neighbours(
    manifest: &mut Manifest,
    out: &mut PartWriter,
    read_part: &dyn Fn(&str) -> Result<Vec<u8>>,
    k: u32,
) -> Result<Option<ListStats>> {
    add_neighbours_in(manifest, out, read_part, k, BLOCK)
}

/// [`add_neighbours`], computing and writing `block` positions' lists at a time.
fn add_neighbours_in(
    manifest: &mut Manifest,
    out: &mut PartWriter,
    read_part: &dyn Fn(&str) -> Result<Vec<u8>>,
    k: u32,
    block: usize,
) -> Result<Option<ListStats>> {
    if k == 0 {
        return Ok(None);
    }
    let m = &*manifest;
    let from = {
        let read = |part: &PartFile, kind: PartKind| -> Result<Vec<u8>> {
            let name = part.file_name(kind);
            let bytes = match out.read(&name)? {
                Some(b) => b,
                None => read_part(&name)?,
            };
            if checksum_hex(&bytes) != part.xxh3 {
                return Err(Error::IndexPart {
                    part: name,
                    problem: "checksum mismatch: the file is damaged or from another build".into(),
                });
            }
            Ok(bytes)
        };
        Catalog::read(m, &read)?
    };
    let dim = m.dim();
    let n = m.total_positions() as usize;
    let seed = range_seed(&m.index_id_bytes());
    let input = NeighbourInput {
        dim,
        rows: &from.rows,
        live: &from.live,
        cells: &from.cells,
        centroids: from.quantizer.centroids(),
    };
    let search = NeighbourSearch::new(&input);
    let probes = default_probes(from.quantizer.cells as usize);
    let sample: Vec<u32> = (0..n as u32)
        .step_by((n / 200).max(1))
        .filter(|&p| from.live[p as usize])
        .collect();
    let mut sampled = Vec::with_capacity(sample.len());
    let mut seconds = 0.0;
    let record_len = crate::index::parts::neighbours::record_bytes(k) as usize;
    out.begin(
        m.envelope(PartKind::Neighbours, m.neighbours_generation()),
        (n * record_len) as u64,
    )?;
    let mut records = Vec::new();
    for first in (0..n).step_by(block) {
        let positions: Vec<u32> = (first as u32..(first + block).min(n) as u32).collect();
        let (lists, took) = timed(|| search.lists(&positions, k as usize, probes));
        seconds += took;
        let in_block = sample.partition_point(|&p| (p as usize) < first)
            ..sample.partition_point(|&p| (p as usize) < first + positions.len());
        sampled.extend(
            sample[in_block]
                .iter()
                .map(|&p| lists[p as usize - first].clone()),
        );
        records.resize(positions.len() * record_len, 0);
        let write = |j: usize, bytes: &mut [u8]| {
            from.record(first + j, &lists[j], k, seed, bytes);
        };
        #[cfg(feature = "catalog")]
        {
            use rayon::prelude::*;
            records
                .par_chunks_mut(record_len)
                .enumerate()
                .for_each(|(j, bytes)| write(j, bytes));
        }
        #[cfg(not(feature = "catalog"))]
        for (j, bytes) in records.chunks_mut(record_len).enumerate() {
            write(j, bytes);
        }
        out.write(&records)?;
    }
    let file = out.end()?;
    let recall = recall_at(&input, &sampled, &sample, 10);
    manifest.neighbours = Some(NeighboursPart {
        file,
        k,
        positions: n as u32,
    });
    Ok(Some(ListStats { recall, seconds }))
}

/// `f`'s result and the seconds it took (0 in wasm, which has no clock).
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    #[cfg(not(target_arch = "wasm32"))]
    let started = std::time::Instant::now();
    let value = f();
    #[cfg(not(target_arch = "wasm32"))]
    let seconds = started.elapsed().as_secs_f64();
    #[cfg(target_arch = "wasm32")]
    let seconds = 0.0;
    (value, seconds)
}

/// What the lists are computed from, read from every generation's parts, by global position.
struct Catalog {
    dim: usize,
    quantizer: Quantizer,
    /// Dequantised re-ranking rows (unit length), `positions × dim`.
    rows: Vec<f32>,
    cells: Vec<u32>,
    live: Vec<bool>,
    locators: Vec<TrackLocator>,
    version_groups: Vec<u32>,
    /// Every generation's segments part, as stored.
    segment_parts: Vec<Vec<u8>>,
    /// Each position's segment rows: generation, byte range in its segments part.
    segment_ranges: Vec<(usize, Range<usize>)>,
}

impl Catalog {
    /// Reads the parts of every generation of `m` with `read` (a whole part, checked against
    /// the manifest): each one's codes head, re-ranking rows, metadata (a shard at a time) and
    /// segment rows.
    fn read(m: &Manifest, read: &dyn Fn(&PartFile, PartKind) -> Result<Vec<u8>>) -> Result<Self> {
        let dim = m.dim();
        let n = m.total_positions() as usize;
        let quantizer = {
            let name = m.quantizer.file_name(PartKind::Quantizer);
            let bytes = read(&m.quantizer, PartKind::Quantizer)?;
            Quantizer::from_bytes(
                m.envelope(PartKind::Quantizer, 0).open(&bytes, &name)?,
                m.dim(),
            )?
        };
        let mut from = Catalog {
            dim,
            quantizer,
            rows: Vec::with_capacity(n * dim),
            cells: Vec::with_capacity(n),
            live: vec![true; n],
            locators: Vec::with_capacity(n),
            version_groups: Vec::with_capacity(n),
            segment_parts: Vec::with_capacity(m.generations.len()),
            segment_ranges: Vec::with_capacity(n),
        };
        let seed = range_seed(&m.index_id_bytes());
        let cell_count = m.layout.centroids;
        for (gi, g) in m.generations.iter().enumerate() {
            let name = g.codes.file_name(PartKind::Codes);
            let bytes = read(&g.codes, PartKind::Codes)?;
            let payload = m
                .envelope(PartKind::Codes, g.generation)
                .open(&bytes, &name)?;
            let head_len = codes::head_bytes(cell_count, g.removed) as usize;
            let head = CodesHead::parse(
                &payload[..head_len.min(payload.len())],
                cell_count,
                g.removed,
                g.tracks,
                g.first_position,
                seed,
                g.generation,
                &name,
            )?;
            for &p in &head.removed {
                from.live[p as usize] = false;
            }
            let first_cell = from.cells.len();
            for c in 0..head.cells() {
                from.cells.extend(head.cell(c).map(|_| c as u32));
            }
            drop(bytes);
            let rerank_bytes = read(&g.rerank, PartKind::Rerank)?;
            let block_rows = m.layout.rerank_block_rows as usize;
            for local in 0..g.tracks as usize {
                let at = rerank::row_offset(local, block_rows, dim);
                let (scale, codes) = rerank::split_row(&rerank_bytes[at..], dim);
                from.version_groups
                    .push(rerank::row_locator(&rerank_bytes[at..], dim).version_group);
                let centroid = from
                    .quantizer
                    .centroid(from.cells[first_cell + local] as usize);
                from.rows.extend(rerank::dequantize(centroid, scale, codes));
            }
            drop(rerank_bytes);
            let name = g.meta.file_name(PartKind::Meta);
            let bytes = read(&g.meta, PartKind::Meta)?;
            m.envelope(PartKind::Meta, g.generation)
                .open(&bytes, &name)?;
            let segment_bytes = read(&g.segments, PartKind::Segments)?;
            let shards = m.meta_shards(g);
            each_shard(
                &bytes,
                shards,
                seed,
                g.generation,
                &name,
                |offset, shard| {
                    from.locators
                        .extend(track_locators(&shard, &bytes, offset, &name)?);
                    let mut row = shard.segment_first_row;
                    for &count in &shard.segment_counts {
                        let (at, len) = segments::rows_range(row, u64::from(count), dim);
                        let range = at as usize..(at + len) as usize;
                        if range.end > segment_bytes.len() {
                            return Err(Error::IndexPart {
                                part: g.segments.file_name(PartKind::Segments),
                                problem: "it holds fewer segment rows than the metadata says"
                                    .into(),
                            });
                        }
                        from.segment_ranges.push((gi, range));
                        row += u64::from(count);
                    }
                    Ok(())
                },
            )?;
            from.segment_parts.push(segment_bytes);
        }
        if from.rows.len() != n * dim
            || from.cells.len() != n
            || from.locators.len() != n
            || from.segment_ranges.len() != n
        {
            return Err(Error::InvalidIndex(
                "the parts do not hold the manifest's tracks".into(),
            ));
        }
        Ok(from)
    }

    /// Writes position `p`'s record (its `list`, from [`NeighbourSearch::lists`]) into `out`
    /// (`record_bytes(k)` long).
    fn record(&self, p: usize, list: &[(f32, u32)], k: u32, seed: u64, out: &mut [u8]) {
        let dim = self.dim;
        // The track's row as a page's search by it would use it: dequantised, unit length.
        let query = &self.rows[p * dim..(p + 1) * dim];
        let entry = |score: f32, t: u32| {
            let (g, range) = &self.segment_ranges[t as usize];
            Neighbour {
                position: t,
                score,
                locator: self.locators[t as usize],
                version_group: self.version_groups[t as usize],
                best_segment: segments::best_segment(
                    &self.segment_parts[*g][range.clone()],
                    dim,
                    query,
                ),
            }
        };
        let record: Vec<Neighbour> = if self.live[p] {
            std::iter::once(entry(1.0, p as u32))
                .chain(list.iter().map(|&(s, t)| entry(s.clamp(-1.0, 1.0), t)))
                .collect()
        } else {
            Vec::new()
        };
        let mut bytes = Vec::with_capacity(out.len());
        push_record(&mut bytes, p as u32, &record, k, seed);
        out.copy_from_slice(&bytes);
    }
}

#[cfg(all(test, feature = "catalog"))]
mod tests {
    use super::*;
    use crate::index::publish::{MemoryParts, PartSizes, publish_base};
    use crate::index::train::{QuantizerShape, train_quantizer};
    use crate::index::{
        CatalogIndex, FingerprintTable, IndexHeader, Precision, SegmentTable, TrackMeta,
        VectorStore, VersionTable,
    };
    use crate::params::{AnalysisParams, FrontEndKind};

    /// `n` tracks of `dim` pseudo-random values, two segments each.
    fn catalog(n: usize, dim: usize) -> CatalogIndex {
        let analysis = AnalysisParams::default();
        let header = IndexHeader {
            analysis,
            frontend_version: FrontEndKind::of(&analysis).version(),
            tempo_version: crate::tempo::ESTIMATOR_VERSION,
            model_name: "test".into(),
            model_sha256: "0".repeat(64),
            embedding_dim: dim as u32,
            model_trained: false,
            created_by: "test".into(),
        };
        let segments = SegmentTable {
            offsets: vec![0],
            starts_seconds: Vec::new(),
            vectors: VectorStore::new(Precision::Int8, dim),
        };
        let mut index = CatalogIndex::from_parts(
            header,
            Vec::new(),
            VectorStore::new(Precision::F32, dim),
            segments,
            FingerprintTable::default(),
            VersionTable::default(),
        )
        .unwrap();
        let mut state = 99u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for t in 0..n {
            let v: Vec<f32> = (0..dim).map(|_| next()).collect();
            let s: Vec<f32> = v.iter().map(|x| x + 0.1 * next()).collect();
            let meta = TrackMeta {
                id: format!("t{t}"),
                duration_seconds: 60.0,
                ..Default::default()
            };
            index
                .add_embedding(meta, &v, &[(0.0, &v), (3.0, &s)], 8)
                .unwrap();
        }
        index
    }

    #[test]
    fn lists_written_in_blocks_are_those_written_at_once() {
        let index = catalog(300, 16);
        let shape = QuantizerShape {
            code_bytes: 4,
            cells: Some(8),
            ..QuantizerShape::quick()
        };
        let quantizer = train_quantizer(&index.embedding_rows(), 16, shape).unwrap();
        let sizes = PartSizes {
            neighbours: 10,
            ..PartSizes::default()
        };
        let whole = publish_base(&index, quantizer, sizes).unwrap();
        let mut manifest = whole.manifest.clone();
        manifest.neighbours = None;
        let mut parts = MemoryParts::default();
        let mut out = PartWriter::new(&mut parts);
        // Every other part is read from the publication, as a delta reads the published ones.
        let read = |name: &str| -> Result<Vec<u8>> {
            let found = whole.files.iter().find(|(f, _)| f == name);
            Ok(found.expect("a published part").1.clone())
        };
        add_neighbours_in(&mut manifest, &mut out, &read, 10, 7).unwrap();
        drop(out);
        assert_eq!(manifest, whole.manifest);
        let lists: Vec<_> = whole
            .files
            .iter()
            .filter(|(f, _)| f.starts_with("parts/neighbours-"))
            .cloned()
            .collect();
        assert_eq!(parts.files, lists);
    }
}
