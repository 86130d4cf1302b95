//! A catalog index on disk: one file (`.idx`, format 1) or a published folder (`index.json`
//! and `parts/`, format 3), written so that a reader never sees half of either.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::index::CatalogIndex;
use crate::index::publish::{PartSizes, Published, publish_base};
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

/// Reads and validates a one-file index.
pub fn load_index_file(path: &Path) -> Result<CatalogIndex> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    CatalogIndex::from_bytes(&bytes)
        .map_err(|e| Error::Catalog(format!("index {}: {e}", path.display())))
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

/// Trains the quantiser on `index` and publishes it as a new base.
pub fn publish_catalog(
    index: &CatalogIndex,
    shape: QuantizerShape,
    sizes: PartSizes,
) -> Result<(Published, PublishTimings)> {
    let started = Instant::now();
    let dim = index.dim();
    let mut vectors = Vec::with_capacity(index.len() * dim);
    for i in 0..index.len() {
        vectors.extend(index.embedding(i));
    }
    let quantizer = train_quantizer(&vectors, dim, shape)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let published = publish_base(index, quantizer, sizes)?;
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
    let (published, _) = publish_catalog(index, shape, sizes)?;
    write_published(&folder(out), &published)
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

/// Writes the parts of `published`, then its manifest (atomically): a reader sees the old
/// index or the new one, never a manifest naming parts that are not there yet. Parts are
/// named by checksum, so writing one that exists rewrites the same bytes. Returns the bytes
/// written.
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
    let manifest = dir.join(MANIFEST_NAME);
    let tmp = dir.join(format!("{MANIFEST_NAME}.tmp"));
    let json = published.manifest.to_json();
    std::fs::write(&tmp, &json).map_err(|e| Error::io(&manifest, e))?;
    std::fs::rename(&tmp, &manifest).map_err(|e| Error::io(&manifest, e))?;
    Ok(written + json.len() as u64)
}
