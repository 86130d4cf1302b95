//! A catalog index on disk: one file (`.idx`, format 1) or a published folder (`index.json`
//! and `parts/`, format 3), written so that a reader never sees half of either.

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use super::parts_dir::DirParts;
use crate::error::{Error, Result};
use crate::index::CatalogIndex;
use crate::index::publish::{PartSink, PartSizes, Published, Source, publish_base_to};
use crate::index::train::{QuantizerShape, train_quantizer};

/// The manifest file inside a published index's folder.
pub const MANIFEST_NAME: &str = "index.json";

/// Whether `path` names a published index (a folder, or its `index.json`) rather than a
/// one-file `.idx` index.
pub fn is_published(path: &Path) -> bool {
    path.is_dir()
        || path.extension().is_some_and(|e| e == "json")
        || (!path.exists() && path.extension().is_none_or(|e| e != "idx"))
}

/// The folder of a published index given as the folder or its manifest.
pub fn folder(path: &Path) -> PathBuf {
    if path.extension().is_some_and(|e| e == "json") {
        path.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        path.to_path_buf()
    }
}

/// Reads and validates a one-file index, a piece at a time: the file's bytes are never held
/// whole beside the index they decode to ([`CatalogIndex::read_file`]).
pub fn load_index_file(path: &Path) -> Result<CatalogIndex> {
    CatalogIndex::read_file(path).map_err(|e| match e {
        e @ Error::Io { .. } => e,
        e => Error::Catalog(format!("index {}: {e}", path.display())),
    })
}

/// Writes a one-file index atomically (temporary file + rename), so a failure never leaves
/// half an index; returns its size in bytes.
pub fn save_index_file(index: &CatalogIndex, path: &Path) -> Result<usize> {
    let bytes = index.to_bytes()?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, &bytes).map_err(|e| Error::io(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    Ok(bytes.len())
}

/// How long [`publish_catalog`] took, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct PublishTimings {
    /// Training the quantiser (cells and codebooks).
    pub train_seconds: f64,
    /// Coding the tracks and cutting the parts.
    pub cut_seconds: f64,
}

/// Trains the quantiser on `index` and publishes it as a new base, its parts kept in memory.
pub fn publish_catalog(
    index: &CatalogIndex,
    shape: QuantizerShape,
    sizes: PartSizes,
) -> Result<(Published, PublishTimings)> {
    let mut parts = crate::index::publish::MemoryParts::default();
    let (mut published, timings) = publish_catalog_to(index, shape, sizes, &mut parts)?;
    published.files = parts.files;
    Ok((published, timings))
}

/// Trains the quantiser on `index` (on its stored rows when they are `f32`: no copy) and
/// publishes it as a new base into `sink`. An owned `index` is dropped as soon as its parts
/// are cut (see [`Source`]), its fingerprints before training.
pub fn publish_catalog_to<'a>(
    index: impl Into<Source<'a>>,
    shape: QuantizerShape,
    sizes: PartSizes,
    sink: &mut dyn PartSink,
) -> Result<(Published, PublishTimings)> {
    let mut index = index.into();
    if let Source::Owned(owned) = &mut index {
        owned.drop_fingerprints();
    }
    let started = Instant::now();
    let catalog = index.index();
    let quantizer = train_quantizer(&catalog.embedding_rows(), catalog.dim(), shape)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let published = publish_base_to(index, quantizer, sizes, sink)?;
    let timings = PublishTimings {
        train_seconds,
        cut_seconds: started.elapsed().as_secs_f64(),
    };
    Ok((published, timings))
}

/// Writes `index` to `out`: a published folder (training the codebooks with `shape`, cut
/// with `sizes`) when [`is_published`] says so, else one file. Returns the bytes written.
pub fn write_index(
    index: &CatalogIndex,
    out: &Path,
    shape: QuantizerShape,
    sizes: PartSizes,
) -> Result<u64> {
    if !is_published(out) {
        return save_index_file(index, out).map(|n| n as u64);
    }
    let published = publish_into(&folder(out), |sink| {
        publish_catalog_to(index, shape, sizes, sink).map(|(published, _)| published)
    })?;
    Ok(published.parts.iter().map(|(_, b)| b).sum::<u64>()
        + published.manifest.to_json().len() as u64)
}

/// Runs `publish` with a sink that writes its parts into the published folder `dir` as they
/// are cut ([`DirParts`]), then writes the manifest (atomically): a reader sees the old index
/// or the new one, never a manifest naming parts that are not there yet. If `publish` or the
/// manifest fails, the parts it wrote are removed again.
pub fn publish_into(
    dir: &Path,
    publish: impl FnOnce(&mut dyn PartSink) -> Result<Published>,
) -> Result<Published> {
    let mut sink = DirParts::new(dir)?;
    let published = publish(&mut sink)?;
    write_manifest(dir, &published)?;
    sink.keep();
    Ok(published)
}

/// Joins one-file indexes (shards of one build, in order) into one [`CatalogIndex`]; a shard
/// of another model or other analysis numbers is refused, naming it.
pub fn merge_index_files(inputs: &[PathBuf]) -> Result<CatalogIndex> {
    let (first, rest) = inputs
        .split_first()
        .ok_or_else(|| Error::Catalog("nothing to merge: no input indexes".into()))?;
    let mut merged = load_index_file(first)?;
    for path in rest {
        merged
            .append(&load_index_file(path)?)
            .map_err(|e| Error::Catalog(format!("cannot merge {}: {e}", path.display())))?;
    }
    Ok(merged)
}

/// Writes the parts of `published` (those it kept in memory), then its manifest
/// (atomically): a reader sees the old index or the new one, never a manifest naming parts
/// that are not there yet. Parts are named by checksum, so writing one that exists rewrites
/// the same bytes. Returns the bytes written.
pub fn write_published(dir: &Path, published: &Published) -> Result<u64> {
    std::fs::create_dir_all(dir.join("parts")).map_err(|e| Error::io(dir, e))?;
    let mut written = 0u64;
    for (name, bytes) in &published.files {
        let path = dir.join(name);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
            continue;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(&path, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        written += bytes.len() as u64;
    }
    Ok(written + write_manifest(dir, published)?)
}

/// Writes the manifest of `published` into `dir` atomically; returns its size in bytes.
fn write_manifest(dir: &Path, published: &Published) -> Result<u64> {
    let manifest = dir.join(MANIFEST_NAME);
    let tmp = dir.join(format!("{MANIFEST_NAME}.tmp"));
    let json = published.manifest.to_json();
    std::fs::write(&tmp, &json).map_err(|e| Error::io(&manifest, e))?;
    std::fs::rename(&tmp, &manifest).map_err(|e| Error::io(&manifest, e))?;
    Ok(json.len() as u64)
}
