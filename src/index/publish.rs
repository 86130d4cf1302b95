//! Turning a [`CatalogIndex`] (full-precision embeddings, metadata, segments) into the parts of
//! a published index: the base generation with a freshly trained quantiser, or a delta
//! generation coded with the quantiser of an existing index.
//!
//! Within a generation, tracks are stored sorted by their first two code bytes (catalog order
//! among equals): similar tracks sit next to each other, so the re-ranking rows of a shortlist
//! fall into fewer blocks.

use std::collections::BTreeMap;

use super::parts::ids::{IdShard, shard_of};
use super::parts::manifest::{
    Generation, Layout, MANIFEST_FORMAT, Manifest, ModelRef, PartFile, index_id_for,
};
use super::parts::meta::MetaShard;
use super::parts::search::{SearchPart, TagPostings, TagValue};
use super::parts::{
    Envelope, PARTS_FORMAT_VERSION, PartKind, block_checksum, checksum_hex, encode_payload, rerank,
    segments,
};
use super::postings::PostingList;
use super::quantizer::Quantizer;
use super::vectors::quantize_row;
use super::{CatalogIndex, Tags};
use crate::error::{Error, Result};

/// How parts are cut. The defaults keep a 600k-track index's first search under 16 MB: at 600k
/// synthetic tracks, 16-row blocks and 256-track shards fetch 0.95 MB for a first result list
/// after the 12.3 MB of manifest and search part, where 32 and 512 fetched 1.35 MB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartSizes {
    /// Rows per re-ranking block (one range request and one checksum each).
    pub rerank_block_rows: u32,
    /// Tracks per metadata shard.
    pub meta_shard_tracks: u32,
    /// Tracks per id shard, on average.
    pub id_shard_tracks: u32,
}

impl Default for PartSizes {
    fn default() -> Self {
        PartSizes {
            rerank_block_rows: 16,
            meta_shard_tracks: 256,
            id_shard_tracks: 4096,
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
    let quantizer_bytes = encode_payload(&quantizer)?;
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        version: PARTS_FORMAT_VERSION,
        index_id: index_id_for(&quantizer_bytes, &h.model_sha256),
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
            code_bytes: quantizer.stages,
            centroids: quantizer.centroids,
            rerank_block_rows: sizes.rerank_block_rows,
            meta_shard_tracks: sizes.meta_shard_tracks,
        },
        generations: Vec::new(),
    };
    let (entry, files) = generation(&manifest, index, &quantizer, true, Vec::new(), sizes)?;
    manifest.generations.push(entry);
    manifest.validate()?;
    Ok(Published { manifest, files })
}

/// Appends a delta generation to `manifest`: the tracks of `added` (coded with `quantizer`, the
/// index's own) and the removal of the global positions `removed`. The parts already published
/// stay as they are; only the delta's parts and the manifest are new.
pub fn publish_delta(
    manifest: &Manifest,
    quantizer: &Quantizer,
    added: &CatalogIndex,
    mut removed: Vec<u32>,
    sizes: PartSizes,
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
    let sizes = PartSizes {
        rerank_block_rows: manifest.layout.rerank_block_rows,
        meta_shard_tracks: manifest.layout.meta_shard_tracks,
        ..sizes
    };
    let (entry, files) = generation(&manifest, added, quantizer, false, removed, sizes)?;
    manifest.generations.push(entry);
    manifest.validate()?;
    Ok(Published { manifest, files })
}

/// Codes one generation: returns its manifest entry and its files.
fn generation(
    manifest: &Manifest,
    index: &CatalogIndex,
    quantizer: &Quantizer,
    base: bool,
    removed: Vec<u32>,
    sizes: PartSizes,
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

    // Code every track, then order them by their first code bytes.
    let m = quantizer.code_len();
    let coded = encode_catalog(index, quantizer);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (coded[i * m], coded.get(i * m + 1).copied().unwrap_or(0)));
    let codes: Vec<u8> = order
        .iter()
        .flat_map(|&i| coded[i * m..(i + 1) * m].iter().copied())
        .collect();

    // Re-ranking rows and their block checksums.
    let mut rerank_rows = Vec::with_capacity(n * (4 + dim));
    for &i in &order {
        let (scale, row) = quantize_row(&index.embedding(i));
        rerank::push_row(&mut rerank_rows, scale, &row);
    }
    let block_bytes = sizes.rerank_block_rows as usize * (4 + dim);
    let rerank_checksums = rerank_rows
        .chunks(block_bytes)
        .map(block_checksum)
        .collect();

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

    // Metadata shards.
    let shard = sizes.meta_shard_tracks as usize;
    let mut meta = Vec::new();
    let mut first_row = 0u64;
    for (s, chunk) in order.chunks(shard).enumerate() {
        let counts = seg_counts[s * shard..s * shard + chunk.len()].to_vec();
        let payload = MetaShard {
            tracks: chunk.iter().map(|&i| index.tracks()[i].clone()).collect(),
            segment_first_row: first_row,
            segment_counts: counts.clone(),
            segment_checksums: seg_sums[s * shard..s * shard + chunk.len()].to_vec(),
        };
        first_row += counts.iter().map(|&c| u64::from(c)).sum::<u64>();
        meta.push(file(PartKind::Meta, &encode_payload(&payload)?));
    }

    // Id shards.
    let id_shards = if n == 0 {
        0
    } else {
        n.div_ceil(sizes.id_shard_tracks as usize)
    };
    let mut by_shard: Vec<Vec<(String, u32)>> = vec![Vec::new(); id_shards];
    for (position, &i) in order.iter().enumerate() {
        let id = &index.tracks()[i].id;
        by_shard[shard_of(id, id_shards)].push((id.clone(), position as u32));
    }
    let mut ids = Vec::new();
    for mut entries in by_shard {
        entries.sort();
        ids.push(file(PartKind::Ids, &encode_payload(&IdShard { entries })?));
    }

    let search_payload = SearchPart {
        quantizer: base.then(|| quantizer.clone()),
        codes,
        rerank_checksums,
        catalog_tags: postings(index, &order, false),
        predicted_tags: postings(index, &order, true),
        tempo: order
            .iter()
            .map(|&i| {
                let bpm = index.tracks()[i].tempo.and_then(|t| t.clear_bpm());
                crate::tempo::code::encode(bpm)
            })
            .collect(),
        removed: removed.clone(),
    };
    let search = file(PartKind::Search, &encode_payload(&search_payload)?);
    let rerank = file(PartKind::Rerank, &rerank_rows);
    let segments = file(PartKind::Segments, &segment_rows);
    let entry = Generation {
        generation: number,
        first_position,
        tracks: n as u32,
        removed: removed.len() as u32,
        search,
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

/// The codes of every track, `len × code_len`: batched and threaded where the `catalog` feature's
/// crates are compiled in, one track at a time otherwise.
fn encode_catalog(index: &CatalogIndex, quantizer: &Quantizer) -> Vec<u8> {
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
        (0..index.len())
            .flat_map(|i| quantizer.encode(&index.embedding(i)))
            .collect()
    }
}
