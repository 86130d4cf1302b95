//! One generation's parts, cut from a [`CatalogIndex`] and written to a [`PartWriter`] as they
//! are made: the segment rows, the metadata, the re-ranking rows (each streamed, in position
//! order), then the ids, filters and codes.
//!
//! Besides the catalog, what this holds at once is, per track: its code and cell (36 bytes,
//! twice while they are put in position order), its catalog position (8), its version group,
//! segment count and checksum and metadata locator (22), and the encoded metadata shards until
//! their part is written (206 bytes at 600k synthetic tracks). No part is held whole, no
//! track's metadata is copied but for the shard being encoded, and `f32` embeddings are coded
//! where they are stored.

use std::collections::BTreeMap;

use super::sink::PartWriter;
use super::{PartSizes, global_version_groups};
use crate::error::{Error, Result};
use crate::index::parts::codes;
use crate::index::parts::filters::{FiltersPart, TagPostings, TagValue};
use crate::index::parts::manifest::{
    Generation, IdsPart, Manifest, PartFile, rerank_row_bytes, segment_row_bytes,
};
use crate::index::parts::meta::{MetaShard, build_table, shard_locators, table_range};
use crate::index::parts::neighbours::TrackLocator;
use crate::index::parts::{
    ENVELOPE_LEN, Envelope, PartKind, block_checksum, encode_payload, keyed_checksum, range_seed,
    rerank, segments,
};
use crate::index::postings::PostingList;
use crate::index::quantizer::Quantizer;
use crate::index::vectors::quantize_row;
use crate::index::{CatalogIndex, Tags};

/// Bytes gathered before a write to the sink.
const WRITE_BYTES: usize = 1 << 20;

/// Codes one generation, writing its parts to `out`; returns its manifest entry.
pub(super) fn generation(
    manifest: &Manifest,
    index: &CatalogIndex,
    quantizer: &Quantizer,
    removed: Vec<u32>,
    sizes: PartSizes,
    joined: &[(u32, u32)],
    out: &mut PartWriter,
) -> Result<Generation> {
    let number = manifest.generations.len() as u32;
    let first_position = manifest.total_positions();
    let n = index.len();

    // Code every track, then order them by cell (then by their first code byte).
    let m = quantizer.code_len();
    let (order, codes, cells) = {
        let (track_cells, coded) = encode_catalog(index, quantizer);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (track_cells[i], coded[i * m]));
        let codes: Vec<u8> = order
            .iter()
            .flat_map(|&i| coded[i * m..(i + 1) * m].iter().copied())
            .collect();
        let cells: Vec<u32> = order.iter().map(|&i| track_cells[i]).collect();
        (order, codes, cells)
    };
    let version_groups = global_version_groups(index, &order, first_position, joined)?;
    let cut = Cut {
        index,
        order: &order,
        seed: range_seed(&manifest.index_id_bytes()),
        number,
        index_id: manifest.index_id_bytes(),
    };

    let (segments, rows) = cut.segments(out)?;
    let (meta, meta_locators) = cut.meta(sizes.meta_shard_tracks as usize, &rows, out)?;
    let rerank = cut.rerank(
        quantizer,
        &cells,
        &Locators {
            meta: meta_locators,
            rows,
            version_groups,
        },
        sizes.rerank_block_rows as usize,
        out,
    )?;

    // Id buckets.
    let ids = if n == 0 {
        None
    } else {
        let in_order: Vec<&str> = order
            .iter()
            .map(|&i| index.tracks()[i].id.as_str())
            .collect();
        let (layout, payload) = crate::index::parts::ids::build(&in_order, cut.seed)?;
        Some(IdsPart {
            file: out.put(cut.env(PartKind::Ids), &payload)?,
            layout,
        })
    };

    let filters_payload = FiltersPart {
        catalog_tags: postings(index, &order, false),
        predicted_tags: postings(index, &order, true),
        tempo: order
            .iter()
            .map(|&i| {
                let bpm = index.tracks()[i].tempo.and_then(|t| t.clear_bpm());
                crate::tempo::code::encode(bpm)
            })
            .collect(),
    };
    let filters = out.put(
        cut.env(PartKind::Filters),
        &encode_payload(&filters_payload)?,
    )?;
    let codes_payload = codes::build_part(
        &codes,
        m,
        &cells,
        quantizer.cells,
        &removed,
        cut.seed,
        number,
    );
    let codes = out.put(cut.env(PartKind::Codes), &codes_payload)?;
    Ok(Generation {
        generation: number,
        first_position,
        tracks: n as u32,
        removed: removed.len() as u32,
        codes,
        filters,
        rerank,
        segments,
        meta,
        ids,
    })
}

/// The catalog in the generation's position order, and what every part's envelope and
/// checksums are keyed with.
struct Cut<'a> {
    index: &'a CatalogIndex,
    /// The catalog position of each of the generation's positions.
    order: &'a [usize],
    /// The index's range seed ([`range_seed`]).
    seed: u64,
    /// The generation.
    number: u32,
    index_id: [u8; 16],
}

/// Every position's segment rows in the segments part: their count and [`block_checksum`].
struct SegmentRows {
    counts: Vec<u16>,
    sums: Vec<u32>,
}

/// What a re-ranking row says besides the embedding, by position.
struct Locators {
    /// Where the track's metadata is.
    meta: Vec<TrackLocator>,
    rows: SegmentRows,
    /// Its version group (global).
    version_groups: Vec<u32>,
}

impl Cut<'_> {
    fn env(&self, kind: PartKind) -> Envelope {
        Envelope {
            kind,
            generation: self.number,
            index_id: self.index_id,
        }
    }

    /// The segments part: every track's rows in position order (re-quantised from the stored
    /// rows, as stored before), `WRITE_BYTES` at a time.
    fn segments(&self, out: &mut PartWriter) -> Result<(PartFile, SegmentRows)> {
        let (index, dim) = (self.index, self.index.dim());
        let segs = index.segments();
        let total: u64 = self
            .order
            .iter()
            .map(|&i| index.segment_range(i).len() as u64)
            .sum();
        out.begin(
            self.env(PartKind::Segments),
            total * segment_row_bytes(dim) as u64,
        )?;
        let n = self.order.len();
        let mut rows = SegmentRows {
            counts: Vec::with_capacity(n),
            sums: Vec::with_capacity(n),
        };
        let mut buf = Vec::with_capacity(WRITE_BYTES);
        for &i in self.order {
            let range = index.segment_range(i);
            let start = buf.len();
            for s in range.clone() {
                let (scale, row) = quantize_row(&segs.vectors.row(s));
                segments::push_row(&mut buf, segs.starts_seconds[s], scale, &row);
            }
            rows.counts.push(u16::try_from(range.len()).map_err(|_| {
                Error::InvalidIndex(format!(
                    "track `{}` has too many segments",
                    index.tracks()[i].id
                ))
            })?);
            rows.sums.push(block_checksum(&buf[start..]));
            if buf.len() >= WRITE_BYTES {
                out.write(&buf)?;
                buf.clear();
            }
        }
        out.write(&buf)?;
        Ok((out.end()?, rows))
    }

    /// The metadata part: a table, then the shards of `shard` tracks. Each shard is encoded
    /// from copies of its own tracks only; the encoded shards wait for the table (which holds
    /// their sizes). Returns the part and where each track's record lies in it.
    fn meta(
        &self,
        shard: usize,
        rows: &SegmentRows,
        out: &mut PartWriter,
    ) -> Result<(PartFile, Vec<TrackLocator>)> {
        let shards = self.order.len().div_ceil(shard);
        let (start, length) = table_range(shards as u32);
        let mut offset = start + length;
        let mut encoded = Vec::with_capacity(shards);
        let mut locators = Vec::with_capacity(self.order.len());
        let mut first_row = 0u64;
        for (s, chunk) in self.order.chunks(shard).enumerate() {
            let at = s * shard..s * shard + chunk.len();
            let counts = rows.counts[at.clone()].to_vec();
            let shard_rows: u64 = counts.iter().map(|&c| u64::from(c)).sum();
            let meta_shard = MetaShard {
                tracks: chunk
                    .iter()
                    .map(|&i| self.index.tracks()[i].clone())
                    .collect(),
                segment_first_row: first_row,
                segment_counts: counts,
                segment_checksums: rows.sums[at].to_vec(),
            };
            let bytes = encode_payload(&meta_shard)?;
            locators.extend(shard_locators(
                &meta_shard,
                &bytes,
                offset,
                "the metadata part",
            )?);
            offset += bytes.len() as u64;
            encoded.push(bytes);
            first_row += shard_rows;
        }
        let table = build_table(&encoded, self.seed, self.number)?;
        let shard_bytes: u64 = encoded.iter().map(|e| e.len() as u64).sum();
        out.begin(self.env(PartKind::Meta), table.len() as u64 + shard_bytes)?;
        out.write(&table)?;
        for e in encoded {
            out.write(&e)?;
        }
        Ok((out.end()?, locators))
    }

    /// The re-ranking part: each track's residual from its cell's centroid (see `rerank`) and
    /// where its details are, in self-checking blocks of `block_rows` rows.
    fn rerank(
        &self,
        quantizer: &Quantizer,
        cells: &[u32],
        locators: &Locators,
        block_rows: usize,
        out: &mut PartWriter,
    ) -> Result<PartFile> {
        let dim = self.index.dim();
        let n = self.order.len();
        let part_bytes = rerank::part_bytes(n as u64, block_rows as u32, dim);
        out.begin(self.env(PartKind::Rerank), part_bytes - ENVELOPE_LEN as u64)?;
        let mut block = Vec::with_capacity(block_rows * rerank_row_bytes(dim));
        let mut buf = Vec::with_capacity(WRITE_BYTES + block.capacity() + 4);
        let mut segment_row = 0u64;
        for (b, chunk) in self.order.chunks(block_rows).enumerate() {
            block.clear();
            for (j, &i) in chunk.iter().enumerate() {
                let local = b * block_rows + j;
                let count = locators.rows.counts[local];
                let locator = rerank::HitLocator {
                    meta: locators.meta[local],
                    segment_first_row: u32::try_from(segment_row).map_err(|_| {
                        Error::InvalidIndex("more than 2^32 segment rows in one generation".into())
                    })?,
                    segment_count: count,
                    segment_checksum: locators.rows.sums[local],
                    version_group: locators.version_groups[local],
                };
                segment_row += u64::from(count);
                let centroid = quantizer.centroid(cells[local] as usize);
                let residual: Vec<f32> = self
                    .index
                    .embedding(i)
                    .iter()
                    .zip(centroid)
                    .map(|(x, c)| x - c)
                    .collect();
                let (scale, row) = quantize_row(&residual);
                rerank::push_row(&mut block, scale, &row, &locator);
            }
            buf.extend_from_slice(&block);
            buf.extend_from_slice(&keyed_checksum(&block, self.seed, b as u32).to_le_bytes());
            if buf.len() >= WRITE_BYTES {
                out.write(&buf)?;
                buf.clear();
            }
        }
        out.write(&buf)?;
        out.end()
    }
}

/// Posting lists of the catalog (or predicted) tags, in the generation's position order.
fn postings(index: &CatalogIndex, order: &[usize], predicted: bool) -> Vec<TagPostings> {
    let mut lists: BTreeMap<&str, BTreeMap<&str, Vec<u32>>> = BTreeMap::new();
    for (position, &i) in order.iter().enumerate() {
        let track = &index.tracks()[i];
        let tags: &Tags = if predicted {
            &track.predicted
        } else {
            &track.tags
        };
        for (category, values) in tags {
            for v in values {
                let list = lists.entry(category).or_default().entry(v).or_default();
                if list.last() != Some(&(position as u32)) {
                    list.push(position as u32);
                }
            }
        }
    }
    let universe = order.len() as u32;
    lists
        .into_iter()
        .map(|(category, values)| TagPostings {
            category: category.to_string(),
            values: values
                .into_iter()
                .map(|(value, tracks)| TagValue {
                    value: value.to_string(),
                    tracks: PostingList::encode(&tracks, universe),
                })
                .collect(),
        })
        .collect()
}

/// The cell and code of every track (`len`, `len × code_len`): batched and threaded where the
/// `catalog` feature's crates are compiled in (over the stored rows themselves when they are
/// `f32`), one track at a time otherwise.
fn encode_catalog(index: &CatalogIndex, quantizer: &Quantizer) -> (Vec<u32>, Vec<u8>) {
    #[cfg(feature = "catalog")]
    {
        crate::index::train::encode_all(quantizer, &index.embedding_rows())
    }
    #[cfg(not(feature = "catalog"))]
    {
        let mut cells = Vec::with_capacity(index.len());
        let mut codes = Vec::with_capacity(index.len() * quantizer.code_len());
        for i in 0..index.len() {
            let (c, code) = quantizer.encode(&index.embedding(i));
            cells.push(c as u32);
            codes.extend(code);
        }
        (cells, codes)
    }
}
