//! The neighbours part at publication: every position's nearest tracks, computed from the
//! re-ranking rows as a page's re-ranked search would score them, with each neighbour's
//! locator and closest segment (`crate::index::neighbour_lists`, `parts::neighbours`).

use super::Published;
use crate::error::{Error, Result};
use crate::index::neighbour_lists::{
    NeighbourInput, default_probes, nearest_neighbours, recall_at,
};
use crate::index::parts::codes::{self, CodesHead};
use crate::index::parts::manifest::PartFile;
use crate::index::parts::meta::{read_shards, track_locators};
use crate::index::parts::neighbours::{Neighbour, NeighboursPart, TrackLocator, push_record};
use crate::index::parts::{PartKind, checksum_hex, range_seed, rerank, segments};
use crate::index::quantizer::Quantizer;

/// Writes the neighbours part of `published` (lists of `k` for every position of every
/// generation), replacing any it had; `k = 0` writes none. Parts not among `published.files`
/// are read with `read_part`.
pub(super) fn add_neighbours(
    published: &mut Published,
    read_part: &dyn Fn(&str) -> Result<Vec<u8>>,
    k: u32,
) -> Result<()> {
    if k == 0 {
        return Ok(());
    }
    let m = &published.manifest;
    let read = |part: &PartFile, kind: PartKind| -> Result<Vec<u8>> {
        let name = part.file_name(kind);
        let bytes = match published.files.iter().find(|(f, _)| *f == name) {
            Some((_, b)) => b.clone(),
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
    let dim = m.dim();
    let n = m.total_positions() as usize;
    let (mut rows, mut cells, mut live) = (Vec::with_capacity(n * dim), Vec::new(), vec![true; n]);
    let mut locators: Vec<TrackLocator> = Vec::with_capacity(n);
    let mut version_groups: Vec<u32> = Vec::with_capacity(n);
    let quantizer = {
        let name = m.quantizer.file_name(PartKind::Quantizer);
        let bytes = read(&m.quantizer, PartKind::Quantizer)?;
        Quantizer::from_bytes(
            m.envelope(PartKind::Quantizer, 0).open(&bytes, &name)?,
            m.dim(),
        )?
    };
    let seed = range_seed(&m.index_id_bytes());
    let cell_count = m.layout.centroids;
    // Every generation's segment part, and each position's rows in it (generation, byte range).
    let mut segment_parts = Vec::with_capacity(m.generations.len());
    let mut segment_ranges: Vec<(usize, std::ops::Range<usize>)> = Vec::with_capacity(n);
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
            live[p as usize] = false;
        }
        let first_cell = cells.len();
        for c in 0..head.cells() {
            cells.extend(head.cell(c).map(|_| c as u32));
        }
        let rerank_bytes = read(&g.rerank, PartKind::Rerank)?;
        let block_rows = m.layout.rerank_block_rows as usize;
        for local in 0..g.tracks as usize {
            let at = rerank::row_offset(local, block_rows, dim);
            let (scale, codes) = rerank::split_row(&rerank_bytes[at..], dim);
            version_groups.push(rerank::row_locator(&rerank_bytes[at..], dim).version_group);
            let centroid = quantizer.centroid(cells[first_cell + local] as usize);
            rows.extend(rerank::dequantize(centroid, scale, codes));
        }
        let name = g.meta.file_name(PartKind::Meta);
        let bytes = read(&g.meta, PartKind::Meta)?;
        m.envelope(PartKind::Meta, g.generation)
            .open(&bytes, &name)?;
        let segment_bytes = read(&g.segments, PartKind::Segments)?;
        for (offset, shard) in read_shards(&bytes, m.meta_shards(g), seed, g.generation, &name)? {
            locators.extend(track_locators(&shard, &bytes, offset, &name)?);
            let mut row = shard.segment_first_row;
            for &count in &shard.segment_counts {
                let (at, len) = segments::rows_range(row, u64::from(count), dim);
                let range = at as usize..(at + len) as usize;
                if range.end > segment_bytes.len() {
                    return Err(Error::IndexPart {
                        part: g.segments.file_name(PartKind::Segments),
                        problem: "it holds fewer segment rows than the metadata says".into(),
                    });
                }
                segment_ranges.push((gi, range));
                row += u64::from(count);
            }
        }
        segment_parts.push(segment_bytes);
    }
    if rows.len() != n * dim || cells.len() != n || locators.len() != n || segment_ranges.len() != n
    {
        return Err(Error::InvalidIndex(
            "the parts do not hold the manifest's tracks".into(),
        ));
    }
    let input = NeighbourInput {
        dim,
        rows: &rows,
        live: &live,
        cells: &cells,
        centroids: quantizer.centroids(),
    };
    #[cfg(not(target_arch = "wasm32"))]
    let started = std::time::Instant::now();
    let probes = default_probes(quantizer.cells as usize);
    let lists = nearest_neighbours(&input, k as usize, probes);
    #[cfg(not(target_arch = "wasm32"))]
    {
        published.neighbour_seconds = started.elapsed().as_secs_f64();
    }
    let sample: Vec<u32> = (0..n as u32)
        .step_by((n / 200).max(1))
        .filter(|&p| live[p as usize])
        .collect();
    published.neighbour_recall = Some(recall_at(&input, &lists, &sample, 10));
    let record_len = crate::index::parts::neighbours::record_bytes(k) as usize;
    let write_record = |p: usize, out: &mut [u8]| {
        // The track's row as a page's search by it would use it: dequantised, unit length.
        let query = rows[p * dim..(p + 1) * dim].to_vec();
        let entry = |score: f32, t: u32| {
            let (g, range) = &segment_ranges[t as usize];
            Neighbour {
                position: t,
                score,
                locator: locators[t as usize],
                version_group: version_groups[t as usize],
                best_segment: segments::best_segment(
                    &segment_parts[*g][range.clone()],
                    dim,
                    &query,
                ),
            }
        };
        let record: Vec<Neighbour> = if live[p] {
            std::iter::once(entry(1.0, p as u32))
                .chain(lists[p].iter().map(|&(s, t)| entry(s.clamp(-1.0, 1.0), t)))
                .collect()
        } else {
            Vec::new()
        };
        let mut bytes = Vec::with_capacity(record_len);
        push_record(&mut bytes, p as u32, &record, k, seed);
        out.copy_from_slice(&bytes);
    };
    let mut payload = vec![0u8; n * record_len];
    #[cfg(feature = "catalog")]
    {
        use rayon::prelude::*;
        payload
            .par_chunks_mut(record_len)
            .enumerate()
            .for_each(|(p, out)| write_record(p, out));
    }
    #[cfg(not(feature = "catalog"))]
    for (p, out) in payload.chunks_mut(record_len).enumerate() {
        write_record(p, out);
    }
    let bytes = m
        .envelope(PartKind::Neighbours, m.neighbours_generation())
        .wrap(&payload);
    let file = PartFile {
        bytes: bytes.len() as u64,
        xxh3: checksum_hex(&bytes),
    };
    published
        .files
        .push((file.file_name(PartKind::Neighbours), bytes));
    published.manifest.neighbours = Some(NeighboursPart {
        file,
        k,
        positions: n as u32,
    });
    Ok(())
}
