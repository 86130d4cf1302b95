//! The NNEF form of a model: a tar archive (`graph.nnef`, one `.dat` file per weight tensor, and
//! our `simsong.json`) that tract reads without its ONNX front end. The browser build loads only
//! this form (the ONNX reader costs ~0.4 MB of compressed wasm and the graph analysis a cold
//! start would redo every time); `simsong model-export` writes it from the ONNX file training
//! exports and checks that both give the same outputs.
//!
//! `simsong.json` holds the model's metadata, the SHA-256 of the ONNX file it was exported from
//! (the model's identity: an index built natively from the ONNX file and a page running this
//! form agree on it) and a SHA-256 over every other entry, checked on load, so that a damaged or
//! edited archive is refused instead of silently giving other numbers under the same identity.
//!
//! Weights that lie exactly on an int8 grid are stored as int8 with per-row scales ([`int8`]),
//! and expanded to the same `f32` values on load.

use std::io::Read;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tract_nnef::internal::*;

use super::{LoadedGraph, hex, int8, parse_metadata, select_io};
use crate::error::{Error, Result};

/// Name of our entry in the archive.
pub const MANIFEST_ENTRY: &str = "simsong.json";
/// Version of the `simsong.json` schema this build writes: 2 since weights may be int8
/// ([`int8`]); it still reads format 1 (all `f32`).
pub const MANIFEST_FORMAT: u32 = 2;

/// `simsong.json`: what the archive is and how to check it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    /// The model's metadata (as the ONNX file's `simsong` entry).
    metadata: serde_json::Value,
    /// Hex SHA-256 of the ONNX file this archive was exported from: the model's identity.
    source_sha256: String,
    /// Hex SHA-256 binding the identity, the metadata and the other entries ([`content_digest`]).
    content_sha256: String,
}

/// tract's NNEF reader, built once per process. Building it parses NNEF's standard library of
/// fragments: about 20 ms natively and 100 ms or more in a browser whose wasm code is still
/// cold, which every model load would otherwise pay again.
fn reader() -> &'static tract_nnef::internal::Nnef {
    static READER: OnceLock<tract_nnef::internal::Nnef> = OnceLock::new();
    READER.get_or_init(tract_nnef::nnef)
}

/// Builds the NNEF reader ahead of the first model load, so that a page can do it while the
/// model is still downloading (see `www/engine-worker.js`). Loading works without it.
pub fn prepare_reader() {
    reader();
}

/// Whether `bytes` look like a tar archive (the NNEF form).
pub fn is_nnef(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar")
}

/// Digest binding the archive together: the identity and metadata `simsong.json` states, then
/// path, length and bytes of every other entry, in archive order. Any edit to the weights, the
/// graph or the stated metadata changes it.
fn content_digest(
    entries: &[(String, Vec<u8>)],
    source_sha256: &str,
    metadata: &serde_json::Value,
) -> String {
    let mut h = Sha256::new();
    let metadata = metadata.to_string();
    for part in [source_sha256, &metadata] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    for (path, bytes) in entries.iter().filter(|(p, _)| p != MANIFEST_ENTRY) {
        h.update((path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    hex(&h.finalize())
}

/// The archive's regular-file entries, as (path, bytes).
fn entries(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let bad = |e: std::io::Error| Error::InvalidModel(format!("unreadable NNEF archive: {e}"));
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        // The size comes from the header: never trust it for an allocation larger than the data.
        let size = entry.size();
        if size > bytes.len() as u64 {
            return Err(Error::InvalidModel(format!(
                "NNEF archive entry `{path}` claims {size} bytes, more than the archive"
            )));
        }
        let mut data = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut data).map_err(bad)?;
        out.push((path, data));
    }
    Ok(out)
}

/// Reads an NNEF archive made by `simsong model-export`: its digest checked, its metadata, its
/// input and outputs.
pub(super) fn read(bytes: &[u8]) -> Result<LoadedGraph> {
    let entries = entries(bytes)?;
    let manifest = entries
        .iter()
        .find(|(p, _)| p == MANIFEST_ENTRY)
        .ok_or_else(|| {
            Error::InvalidModel(format!(
                "no `{MANIFEST_ENTRY}` in the NNEF archive: not exported for this product \
                 (`simsong model-export`), its analysis numbers are unknown"
            ))
        })?;
    let manifest: Manifest = serde_json::from_slice(&manifest.1)
        .map_err(|e| Error::InvalidModel(format!("unreadable `{MANIFEST_ENTRY}`: {e}")))?;
    if !(1..=MANIFEST_FORMAT).contains(&manifest.format) {
        return Err(Error::InvalidModel(format!(
            "`{MANIFEST_ENTRY}` format {} is not supported (this build reads formats 1 to {MANIFEST_FORMAT})",
            manifest.format
        )));
    }
    let digest = content_digest(&entries, &manifest.source_sha256, &manifest.metadata);
    if digest != manifest.content_sha256 {
        return Err(Error::InvalidModel(
            "the NNEF archive's content does not match its digest: the file is damaged or was edited"
                .into(),
        ));
    }
    let sha = &manifest.source_sha256;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::InvalidModel(format!(
            "`source_sha256` in `{MANIFEST_ENTRY}` is not a SHA-256: {sha:?}"
        )));
    }
    let meta = parse_metadata(Some(&manifest.metadata.to_string()))?;
    let unreadable = |e: TractError| Error::InvalidModel(format!("unreadable NNEF model: {e:#}"));
    let mut proto = reader()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(unreadable)?;
    int8::unpack(&mut proto)?;
    let mut model = reader().model_for_proto_model(&proto).map_err(unreadable)?;
    select_io(&mut model, &meta)?;
    Ok(LoadedGraph {
        model,
        meta,
        sha256: manifest.source_sha256,
    })
}

/// Writes the NNEF archive of an ONNX model (native only): the decluttered graph with its input
/// fixed to one patch, and `simsong.json`. The archive is deterministic (fixed timestamps,
/// sorted entries): the same ONNX file and tract version give the same bytes. Before returning,
/// both forms run the same patches and must agree to 1e-5.
#[cfg(not(target_arch = "wasm32"))]
pub fn export_from_onnx(onnx_bytes: &[u8]) -> Result<Vec<u8>> {
    let LoadedGraph {
        mut model,
        meta,
        sha256,
    } = super::onnx::read(onnx_bytes)?;
    model.properties.clear(); // the ONNX file's own properties; ours go in simsong.json
    let graph = tract_nnef::nnef()
        .write_to_tar_with_config(&model, Vec::new(), false, true)
        .map_err(|e| Error::InvalidModel(format!("cannot write the NNEF form: {e:#}")))?;
    let entries = int8::pack_entries(entries(&graph)?)?;
    let metadata =
        serde_json::to_value(&meta).map_err(|e| Error::InvalidModel(format!("metadata: {e}")))?;
    let content_sha256 = content_digest(&entries, &sha256, &metadata);
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        metadata,
        source_sha256: sha256,
        content_sha256,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::InvalidModel(format!("metadata: {e}")))?;
    let mut out = tar::Builder::new(Vec::new());
    let io = |e: std::io::Error| Error::InvalidModel(format!("cannot write the NNEF form: {e}"));
    for (path, data) in std::iter::once((MANIFEST_ENTRY.to_string(), json)).chain(entries) {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(315_532_800); // 1 Jan 1980, as tract's deterministic writer
        out.append_data(&mut header, &path, &data[..]).map_err(io)?;
    }
    let bytes = out.into_inner().map_err(io)?;
    check_same_outputs(onnx_bytes, &bytes, &meta)?;
    Ok(bytes)
}

/// Runs both forms on the same pseudo-random patches; any output differing by more than 1e-5
/// is an error (the export would not be the same model).
#[cfg(not(target_arch = "wasm32"))]
fn check_same_outputs(
    onnx_bytes: &[u8],
    nnef_bytes: &[u8],
    meta: &super::ModelMetadata,
) -> Result<()> {
    let a = super::Model::from_bytes(onnx_bytes)?;
    let b = super::Model::from_bytes(nnef_bytes)?;
    if a.sha256() != b.sha256() || b.metadata() != meta {
        return Err(Error::InvalidModel(
            "the NNEF form does not carry the ONNX model's identity".into(),
        ));
    }
    let p = &meta.analysis;
    let n = p.n_mels * p.patch_frames;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let patches: Vec<crate::patches::Patch> = (0..4)
        .map(|i| crate::patches::Patch {
            start_frame: i * p.patch_hop_frames,
            data: (0..n)
                .map(|_| {
                    // xorshift64: log-mel-like values in 0..4
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 40) as f32 / (1u64 << 24) as f32 * 4.0
                })
                .collect(),
        })
        .collect();
    let (x, y) = (a.run(&patches)?, b.run(&patches)?);
    let flat = |o: &super::PatchOutputs| -> Vec<f32> {
        o.embeddings
            .iter()
            .flatten()
            .chain(o.head_probabilities.iter().flatten().flatten())
            .copied()
            .collect()
    };
    let worst = flat(&x)
        .iter()
        .zip(flat(&y))
        .map(|(u, v)| (u - v).abs())
        .fold(0.0f32, f32::max);
    if worst > 1e-5 {
        return Err(Error::InvalidModel(format!(
            "the NNEF form's outputs differ from the ONNX model's by {worst:e}"
        )));
    }
    Ok(())
}
