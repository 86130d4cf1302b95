//! Turning a [`CatalogIndex`] (full-precision embeddings, metadata, segments) into the parts of
//! a published index: the base generation with a freshly trained quantiser, or a delta
//! generation coded with the quantiser of an existing index.
//!
//! Within a generation, tracks are stored sorted by cell, then by first code byte (catalog order
//! among equals): the tracks of one cell are one run of positions (the codes part
//! is an inverted file read by cell), and similar tracks sit next to each other, so the
//! re-ranking rows of a shortlist fall into fewer blocks.

mod lists;

use std::collections::BTreeMap;

use lists::add_neighbours;

use super::parts::codes;
use super::parts::filters::{FiltersPart, TagPostings, TagValue};
use super::parts::manifest::{
    Generation, IdsPart, Layout, MANIFEST_FORMAT, Manifest, ModelRef, PartFile, index_id_for,
};
use super::parts::meta::{MetaShard, build_part, read_shards, track_locators};
use super::parts::{
    Envelope, PARTS_FORMAT_VERSION, PartKind, block_checksum, checksum_hex, encode_payload,
    range_seed, rerank, segments,
};
use super::postings::PostingList;
use super::quantizer::Quantizer;
use super::vectors::quantize_row;
use super::{CatalogIndex, Tags};
use crate::error::{Error, Result};

/// How parts are cut. The defaults keep a 600k-track index's first search under 16 MB: at 600k
/// synthetic tracks, 16-row blocks and 256-track shards fetch 0.95 MB for a first result list
/// after the 12.3 MB of manifest and search part (format 5), where 32 and 512 fetched 1.35 MB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartSizes {
    /// Rows per re-ranking block (one range request and one checksum each).
    pub rerank_block_rows: u32,
    /// Tracks per metadata shard.
    pub meta_shard_tracks: u32,
    /// Neighbours listed per track in the neighbours part (0: no neighbours part).
    pub neighbours: u32,
}

impl Default for PartSizes {
    fn default() -> Self {
        PartSizes {
            rerank_block_rows: 16,
            meta_shard_tracks: 256,
            neighbours: super::parts::neighbours::DEFAULT_K,
        }
    }
}

/// Part files as `(relative file name, bytes)`.
pub type PartFiles = Vec<(String, Vec<u8>)>;

/// A published index: its manifest and the part files it names (`parts/…`, relative to the
/// manifest).
#[derive(Debug, Clone)]
pub struct Published {
    /// The manifest (`index.json`).
    pub manifest: Manifest,
    /// `(relative file name, bytes)` of every part that this publication wrote.
    pub files: PartFiles,
    /// Recall@10 of the neighbour lists against an exhaustive scan, on a sample of tracks
    /// (`None` without lists).
    pub neighbour_recall: Option<f64>,
    /// Seconds spent computing the neighbour lists (0 without lists, and in wasm).
    pub neighbour_seconds: f64,
}

/// Publishes `index` as a new base generation coded with `quantizer` (trained on it).
pub fn publish_base(
    index: &CatalogIndex,
    quantizer: Quantizer,
    sizes: PartSizes,
) -> Result<Published> {
    if index.is_empty() {
        return Err(Error::InvalidIndex(
            "the catalog holds no track to publish".into(),
        ));
    }
    let h = index.header();
    quantizer.validate(index.dim())?;
    let quantizer_bytes = quantizer.to_bytes();
    let index_id = index_id_for(&quantizer_bytes, &h.model_sha256);
    let quantizer_part = Envelope {
        kind: PartKind::Quantizer,
        generation: 0,
        index_id: u128::from_str_radix(&index_id, 16)
            .expect("32 hex digits")
            .to_be_bytes(),
    }
    .wrap(&quantizer_bytes);
    let quantizer_file = PartFile {
        bytes: quantizer_part.len() as u64,
        xxh3: checksum_hex(&quantizer_part),
    };
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        version: PARTS_FORMAT_VERSION,
        index_id,
        created_by: h.created_by.clone(),
        analysis: h.analysis,
        frontend_version: h.frontend_version,
        tempo_version: h.tempo_version,
        model: ModelRef {
            name: h.model_name.clone(),
            sha256: h.model_sha256.clone(),
            trained: h.model_trained,
            embedding_dim: h.embedding_dim,
        },
        layout: Layout {
            code_bytes: quantizer.subspaces,
            centroids: quantizer.cells,
            rerank_block_rows: sizes.rerank_block_rows,
            meta_shard_tracks: sizes.meta_shard_tracks,
        },
        quantizer: quantizer_file.clone(),
        generations: Vec::new(),
        neighbours: None,
    };
    let (entry, mut files) = generation(&manifest, index, &quantizer, Vec::new(), sizes, &[])?;
    files.push((
        quantizer_file.file_name(PartKind::Quantizer),
        quantizer_part,
    ));
    manifest.generations.push(entry);
    let mut published = Published {
        manifest,
        files,
        neighbour_recall: None,
        neighbour_seconds: 0.0,
    };
    add_neighbours(
        &mut published,
        &|name| Err(missing_part(name)),
        sizes.neighbours,
    )?;
    published.manifest.validate()?;
    Ok(published)
}

fn missing_part(name: &str) -> Error {
    Error::InvalidIndex(format!("{name}: a part of the published index is missing"))
}

/// Appends a delta generation to `manifest`: the tracks of `added` (coded with `quantizer`, the
/// index's own) and the removal of the global positions `removed`. The parts already published
/// stay as they are; only the delta's parts, the neighbours part (every list, rewritten) and the
/// manifest are new. `read_part` reads a part already published (by its relative file name,
/// checked against the manifest), for the neighbour lists. The added tracks are grouped by
/// version among themselves; [`publish_delta_joined`] joins them to published groups too.
pub fn publish_delta(
    manifest: &Manifest,
    quantizer: &Quantizer,
    added: &CatalogIndex,
    removed: Vec<u32>,
    read_part: &dyn Fn(&str) -> Result<Vec<u8>>,
) -> Result<Published> {
    publish_delta_joined(manifest, quantizer, added, removed, read_part, &[])
}

/// [`publish_delta`], with the added tracks that are versions of published ones: `joined`
/// holds `(position in added, published version group)` (a published group is the smallest
/// global position of its tracks, as their re-ranking rows and neighbour entries carry it). A
/// track joined to a group brings its own versions among the added tracks along; a group of
/// added tracks joined to two published groups takes the smaller (published rows are not
/// rewritten, so those two stay apart).
pub fn publish_delta_joined(
    manifest: &Manifest,
    quantizer: &Quantizer,
    added: &CatalogIndex,
    mut removed: Vec<u32>,
    read_part: &dyn Fn(&str) -> Result<Vec<u8>>,
    joined: &[(u32, u32)],
) -> Result<Published> {
    let h = added.header();
    if h.model_sha256 != manifest.model.sha256 || added.dim() != manifest.dim() {
        return Err(Error::IndexModelMismatch {
            index_model: manifest.model.name.clone(),
            loaded_model: h.model_name.clone(),
        });
    }
    removed.sort_unstable();
    removed.dedup();
    let mut manifest = manifest.clone();
    // The index's own layout, neighbour lists included (none if it was published without).
    let sizes = PartSizes {
        rerank_block_rows: manifest.layout.rerank_block_rows,
        meta_shard_tracks: manifest.layout.meta_shard_tracks,
        neighbours: manifest.neighbours.as_ref().map_or(0, |n| n.k),
    };
    if let Some(&(i, g)) = joined
        .iter()
        .find(|&&(i, g)| i as usize >= added.len() || g >= manifest.total_positions())
    {
        return Err(Error::InvalidQuery(format!(
            "track {i} of the delta cannot join version group {g}: no such track or group"
        )));
    }
    let (entry, files) = generation(&manifest, added, quantizer, removed, sizes, joined)?;
    manifest.generations.push(entry);
    manifest.neighbours = None;
    let mut published = Published {
        manifest,
        files,
        neighbour_recall: None,
        neighbour_seconds: 0.0,
    };
    add_neighbours(&mut published, read_part, sizes.neighbours)?;
    published.manifest.validate()?;
    Ok(published)
}

/// Each stored track's version group in global positions: the smallest global position among
/// its versions in `index` (tracks are stored in `order`, from `first_position`), or the
/// published group one of them joins (`joined`, see [`publish_delta_joined`]) when smaller.
fn global_version_groups(
    index: &CatalogIndex,
    order: &[usize],
    first_position: u32,
    joined: &[(u32, u32)],
) -> Result<Vec<u32>> {
    let n = index.len();
    if u64::from(first_position) + n as u64 >= 1 << 31 {
        return Err(Error::InvalidIndex(
            "more than 2^31 positions in a published index".into(),
        ));
    }
    let mut global = vec![0u32; n];
    for (local, &i) in order.iter().enumerate() {
        global[i] = first_position + local as u32;
    }
    let groups = index.version_groups();
    let mut smallest: BTreeMap<u32, u32> = BTreeMap::new();
    for (i, &g) in groups.iter().enumerate() {
        let entry = smallest.entry(g).or_insert(global[i]);
        *entry = (*entry).min(global[i]);
    }
    for &(i, published) in joined {
        let entry = smallest
            .get_mut(&groups[i as usize])
            .expect("every track's group has an entry");
        *entry = (*entry).min(published);
    }
    Ok(order.iter().map(|&i| smallest[&groups[i]]).collect())
}

/// Codes one generation: returns its manifest entry and its files.
fn generation(
    manifest: &Manifest,
    index: &CatalogIndex,
    quantizer: &Quantizer,
    removed: Vec<u32>,
    sizes: PartSizes,
    joined: &[(u32, u32)],
) -> Result<(Generation, PartFiles)> {
    let number = manifest.generations.len() as u32;
    let first_position = manifest.total_positions();
    let n = index.len();
    let dim = index.dim();
    let env = |kind| Envelope {
        kind,
        generation: number,
        index_id: manifest.index_id_bytes(),
    };

    // Code every track, then order them by cell (then by their first code byte).
    let m = quantizer.code_len();
    let (track_cells, coded) = encode_catalog(index, quantizer);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (track_cells[i], coded[i * m]));
    let codes: Vec<u8> = order
        .iter()
        .flat_map(|&i| coded[i * m..(i + 1) * m].iter().copied())
        .collect();
    let cells: Vec<u32> = order.iter().map(|&i| track_cells[i]).collect();
    let version_groups = global_version_groups(index, &order, first_position, joined)?;

    let seed = range_seed(&manifest.index_id_bytes());

    // Segment rows in position order, and per-track counts and checksums for the shards.
    let segs = index.segments();
    let mut segment_rows = Vec::new();
    let mut seg_counts = Vec::with_capacity(n);
    let mut seg_sums = Vec::with_capacity(n);
    for &i in &order {
        let range = index.segment_range(i);
        let start = segment_rows.len();
        for s in range.clone() {
            let (scale, row) = quantize_row(&segs.vectors.row(s));
            segments::push_row(&mut segment_rows, segs.starts_seconds[s], scale, &row);
        }
        seg_counts.push(u16::try_from(range.len()).map_err(|_| {
            Error::InvalidIndex(format!(
                "track `{}` has too many segments",
                index.tracks()[i].id
            ))
        })?);
        seg_sums.push(block_checksum(&segment_rows[start..]));
    }

    let mut files = Vec::new();
    let mut file = |kind: PartKind, payload: &[u8]| -> PartFile {
        let bytes = env(kind).wrap(payload);
        let part = PartFile {
            bytes: bytes.len() as u64,
            xxh3: checksum_hex(&bytes),
        };
        files.push((part.file_name(kind), bytes));
        part
    };

    // Metadata: a table, then the shards.
    let shard = sizes.meta_shard_tracks as usize;
    let mut shards = Vec::new();
    let mut first_row = 0u64;
    for (s, chunk) in order.chunks(shard).enumerate() {
        let counts = seg_counts[s * shard..s * shard + chunk.len()].to_vec();
        let rows: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        shards.push(MetaShard {
            tracks: chunk.iter().map(|&i| index.tracks()[i].clone()).collect(),
            segment_first_row: first_row,
            segment_counts: counts,
            segment_checksums: seg_sums[s * shard..s * shard + chunk.len()].to_vec(),
        });
        first_row += rows;
    }
    let meta_payload = build_part(&shards, seed, number)?;
    let meta_bytes = env(PartKind::Meta).wrap(&meta_payload);
    let meta = file(PartKind::Meta, &meta_payload);

    // Re-ranking rows, in self-checking blocks. Each row is the residual from its cell's
    // centroid (see `rerank`), then where the track's details are.
    let mut locators = Vec::with_capacity(n);
    let meta_name = meta.file_name(PartKind::Meta);
    for (offset, shard) in read_shards(&meta_bytes, shards.len() as u32, seed, number, &meta_name)?
    {
        let mut row = shard.segment_first_row;
        let tracks = track_locators(&shard, &meta_bytes, offset, &meta_name)?;
        for ((t, &count), &sum) in tracks
            .into_iter()
            .zip(&shard.segment_counts)
            .zip(&shard.segment_checksums)
        {
            locators.push(rerank::HitLocator {
                meta: t,
                segment_first_row: u32::try_from(row).map_err(|_| {
                    Error::InvalidIndex("more than 2^32 segment rows in one generation".into())
                })?,
                segment_count: count,
                segment_checksum: sum,
                version_group: version_groups[locators.len()],
            });
            row += u64::from(count);
        }
    }
    let mut rerank_rows = Vec::with_capacity(n * super::parts::manifest::rerank_row_bytes(dim));
    for (local, &i) in order.iter().enumerate() {
        let centroid = quantizer.centroid(cells[local] as usize);
        let residual: Vec<f32> = index
            .embedding(i)
            .iter()
            .zip(centroid)
            .map(|(x, c)| x - c)
            .collect();
        let (scale, row) = quantize_row(&residual);
        rerank::push_row(&mut rerank_rows, scale, &row, &locators[local]);
    }
    let rerank_payload =
        rerank::build_part(&rerank_rows, sizes.rerank_block_rows as usize, dim, seed);

    // Id buckets.
    let ids = if n == 0 {
        None
    } else {
        let in_order: Vec<&str> = order
            .iter()
            .map(|&i| index.tracks()[i].id.as_str())
            .collect();
        let (layout, payload) = super::parts::ids::build(&in_order, seed)?;
        Some(IdsPart {
            file: file(PartKind::Ids, &payload),
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
    let filters = file(PartKind::Filters, &encode_payload(&filters_payload)?);
    let codes_payload =
        codes::build_part(&codes, m, &cells, quantizer.cells, &removed, seed, number);
    let codes = file(PartKind::Codes, &codes_payload);
    let rerank = file(PartKind::Rerank, &rerank_payload);
    let segments = file(PartKind::Segments, &segment_rows);
    let entry = Generation {
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
    };
    Ok((entry, files))
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
/// `catalog` feature's crates are compiled in, one track at a time otherwise.
fn encode_catalog(index: &CatalogIndex, quantizer: &Quantizer) -> (Vec<u32>, Vec<u8>) {
    #[cfg(feature = "catalog")]
    {
        let mut vectors = Vec::with_capacity(index.len() * index.dim());
        for i in 0..index.len() {
            vectors.extend(index.embedding(i));
        }
        super::train::encode_all(quantizer, &vectors)
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
