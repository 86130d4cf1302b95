//! Turning a [`CatalogIndex`] (full-precision embeddings, metadata, segments) into the parts of
//! a published index: the base generation with a freshly trained quantiser, or a delta
//! generation coded with the quantiser of an existing index.
//!
//! Within a generation, tracks are stored sorted by cell, then by first code byte (catalog order
//! among equals): the tracks of one cell are one run of positions (the codes part
//! is an inverted file read by cell), and similar tracks sit next to each other, so the
//! re-ranking rows of a shortlist fall into fewer blocks.
//!
//! Parts go to a [`PartSink`] as they are cut (`cut.rs`, then the neighbour lists in
//! `lists.rs`): kept in memory ([`publish_base`], [`publish_delta`]), or written to the
//! published folder by the CLI, so that publishing a large catalog never holds a whole part.
//! An owned catalog ([`Source::Owned`]) is dropped before the neighbour lists, which read the
//! parts. At 600k synthetic tracks `index merge` peaks at 4.1 kB per track (the decoded
//! catalog, 3.8 kB, and what the cut adds), where holding every part, the file's bytes and a
//! copy of the embeddings took 12.6 kB.

mod cut;
mod lists;
pub mod sink;

use std::collections::BTreeMap;

use cut::generation;
use lists::add_neighbours;
pub use sink::{MemoryParts, PartSink, PartWriter};

use super::CatalogIndex;
use super::parts::manifest::{Layout, MANIFEST_FORMAT, Manifest, ModelRef, index_id_for};
use super::parts::{Envelope, PARTS_FORMAT_VERSION, PartKind};
use super::quantizer::Quantizer;
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
    /// `(relative file name, bytes)` of every part that this publication wrote, when it kept
    /// them in memory ([`publish_base`], [`publish_delta`]); empty when a [`PartSink`] took
    /// them ([`publish_base_to`], [`publish_delta_to`]).
    pub files: PartFiles,
    /// `(relative file name, bytes)` of every part that this publication wrote, in order.
    pub parts: Vec<(String, u64)>,
    /// Recall@10 of the neighbour lists against an exhaustive scan, on a sample of tracks
    /// (`None` without lists).
    pub neighbour_recall: Option<f64>,
    /// Seconds spent computing the neighbour lists (0 without lists, and in wasm).
    pub neighbour_seconds: f64,
}

/// The catalog a base is published from: borrowed, or owned, and then dropped as soon as its
/// parts are cut, before the neighbour lists (which read the parts), so that a large catalog
/// (3.8 kB per track in memory at 600k synthetic tracks, mostly metadata) and what the lists
/// are computed from are never in memory together.
pub enum Source<'a> {
    /// Kept by the caller.
    Borrowed(&'a CatalogIndex),
    /// Dropped once cut.
    Owned(Box<CatalogIndex>),
}

impl Source<'_> {
    /// The catalog.
    pub fn index(&self) -> &CatalogIndex {
        match self {
            Source::Borrowed(index) => index,
            Source::Owned(index) => index,
        }
    }
}

impl<'a> From<&'a CatalogIndex> for Source<'a> {
    fn from(index: &'a CatalogIndex) -> Self {
        Source::Borrowed(index)
    }
}

impl From<CatalogIndex> for Source<'_> {
    fn from(index: CatalogIndex) -> Self {
        Source::Owned(Box::new(index))
    }
}

/// Publishes `index` as a new base generation coded with `quantizer` (trained on it), its
/// parts kept in memory ([`Published::files`]).
pub fn publish_base(
    index: &CatalogIndex,
    quantizer: Quantizer,
    sizes: PartSizes,
) -> Result<Published> {
    let mut parts = MemoryParts::default();
    let mut published = publish_base_to(index, quantizer, sizes, &mut parts)?;
    published.files = parts.files;
    Ok(published)
}

/// [`publish_base`], giving every part to `sink` as it is cut (the neighbour lists a block of
/// tracks at a time) instead of keeping it.
pub fn publish_base_to<'a>(
    index: impl Into<Source<'a>>,
    quantizer: Quantizer,
    sizes: PartSizes,
    sink: &mut dyn PartSink,
) -> Result<Published> {
    let source = index.into();
    let index = source.index();
    if index.is_empty() {
        return Err(Error::InvalidIndex(
            "the catalog holds no track to publish".into(),
        ));
    }
    let h = index.header();
    quantizer.validate(index.dim())?;
    let quantizer_bytes = quantizer.to_bytes();
    let index_id = index_id_for(&quantizer_bytes, &h.model_sha256);
    let mut out = PartWriter::new(sink);
    let quantizer_file = out.put(
        Envelope {
            kind: PartKind::Quantizer,
            generation: 0,
            index_id: u128::from_str_radix(&index_id, 16)
                .expect("32 hex digits")
                .to_be_bytes(),
        },
        &quantizer_bytes,
    )?;
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
        quantizer: quantizer_file,
        generations: Vec::new(),
        neighbours: None,
    };
    let entry = generation(
        &manifest,
        index,
        &quantizer,
        Vec::new(),
        sizes,
        &[],
        &mut out,
    )?;
    manifest.generations.push(entry);
    drop(source);
    finish(
        manifest,
        out,
        &|name| Err(missing_part(name)),
        sizes.neighbours,
    )
}

/// Adds the neighbours part to `manifest` (`k` per track; none for 0), checks it and says
/// what was written.
fn finish(
    mut manifest: Manifest,
    mut out: PartWriter,
    read_part: &dyn Fn(&str) -> Result<Vec<u8>>,
    k: u32,
) -> Result<Published> {
    let lists = add_neighbours(&mut manifest, &mut out, read_part, k)?;
    manifest.validate()?;
    Ok(Published {
        manifest,
        files: Vec::new(),
        parts: out.written,
        neighbour_recall: lists.map(|l| l.recall),
        neighbour_seconds: lists.map_or(0.0, |l| l.seconds),
    })
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
    removed: Vec<u32>,
    read_part: &dyn Fn(&str) -> Result<Vec<u8>>,
    joined: &[(u32, u32)],
) -> Result<Published> {
    let mut parts = MemoryParts::default();
    let delta = Delta {
        manifest,
        quantizer,
        added,
        removed,
        joined,
    };
    let mut published = publish_delta_to(delta, read_part, &mut parts)?;
    published.files = parts.files;
    Ok(published)
}

/// A delta generation to publish (see [`publish_delta_joined`]).
pub struct Delta<'a> {
    /// The published index's manifest.
    pub manifest: &'a Manifest,
    /// The index's quantiser.
    pub quantizer: &'a Quantizer,
    /// The tracks added.
    pub added: &'a CatalogIndex,
    /// Global positions removed.
    pub removed: Vec<u32>,
    /// `(position in added, published version group)`.
    pub joined: &'a [(u32, u32)],
}

/// [`publish_delta_joined`], giving every new part to `sink` as it is cut instead of keeping
/// it.
pub fn publish_delta_to(
    delta: Delta,
    read_part: &dyn Fn(&str) -> Result<Vec<u8>>,
    sink: &mut dyn PartSink,
) -> Result<Published> {
    let Delta {
        manifest,
        quantizer,
        added,
        mut removed,
        joined,
    } = delta;
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
    let mut out = PartWriter::new(sink);
    let entry = generation(
        &manifest, added, quantizer, removed, sizes, joined, &mut out,
    )?;
    manifest.generations.push(entry);
    manifest.neighbours = None;
    finish(manifest, out, read_part, sizes.neighbours)
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
