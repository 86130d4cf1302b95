//! Catalog builds from Python: an index of a manifest (whole, or one share of it for a
//! distributed job) and the merge of shares, by the same library code as `simsong index`.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{Engine, SimsongError, py_error};
use crate::catalog::build::{BuildOptions, ShardSpec};
use crate::catalog::files::{merge_index_files, write_index};
use crate::catalog::{read_folder, read_manifest};
use crate::index::Precision;
use crate::index::publish::PartSizes;
use crate::index::train::QuantizerShape;

/// Indexes the tracks of `manifest` (a `.csv`/`.tsv`/`.json` manifest, or a folder of audio)
/// with `engine` into `out` (`.idx`: one file; otherwise a published folder). With `shard =
/// (i, n)` only the i-th of n contiguous shares is indexed, into a one-file shard for
/// `merge_index`. `threads = 0` uses every core. Files that cannot be analysed are reported in
/// `failures` (path, message), the others indexed.
#[pyfunction]
#[pyo3(signature = (engine, manifest, out, *, shard = None, threads = 0, precision = "f32", max_segments = crate::index::DEFAULT_MAX_SEGMENTS, code_bytes = 32))]
#[allow(clippy::too_many_arguments)]
fn build_index<'py>(
    py: Python<'py>,
    engine: &Engine,
    manifest: PathBuf,
    out: PathBuf,
    shard: Option<(usize, usize)>,
    threads: usize,
    precision: &str,
    max_segments: usize,
    code_bytes: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let precision: Precision = precision.parse().map_err(SimsongError::new_err)?;
    let shard = shard
        .map(|(i, n)| ShardSpec::new(i, n))
        .transpose()
        .map_err(py_error)?;
    if shard.is_some() && crate::catalog::files::is_published(&out) {
        return Err(SimsongError::new_err(
            "a shard is a one-file index: give out=SHARD.idx (then merge_index)",
        ));
    }
    let options = BuildOptions {
        shard,
        precision,
        max_segments,
        threads,
    };
    let (report, bytes) = py
        .detach(|| {
            let entries = if manifest.is_dir() {
                read_folder(&manifest)?
            } else {
                read_manifest(&manifest)?
            };
            let (index, report) =
                crate::catalog::build_index(&engine.inner, entries, options, &|| ())?;
            let bytes = write_index(&index, &out, shape(code_bytes), PartSizes::default())?;
            Ok::<_, crate::Error>((report, bytes))
        })
        .map_err(py_error)?;
    let dict = PyDict::new(py);
    dict.set_item("tracks", report.indexed)?;
    let failures: Vec<(String, String)> = report
        .failures
        .iter()
        .map(|f| (f.audio.display().to_string(), f.message.clone()))
        .collect();
    dict.set_item("failures", failures)?;
    dict.set_item("audio_seconds", report.audio_seconds)?;
    dict.set_item("wall_seconds", report.wall_seconds)?;
    dict.set_item("threads", report.threads)?;
    dict.set_item("bytes_written", bytes)?;
    Ok(dict)
}

/// Joins one-file shards (in the order given) into `out`: a published folder (training the
/// codebooks) or one `.idx` file, exactly as `simsong index merge` does. Returns the number of
/// tracks.
#[pyfunction]
#[pyo3(signature = (inputs, out, *, code_bytes = 32))]
fn merge_index(
    py: Python<'_>,
    inputs: Vec<PathBuf>,
    out: PathBuf,
    code_bytes: usize,
) -> PyResult<usize> {
    py.detach(|| {
        let merged = merge_index_files(&inputs)?;
        write_index(&merged, &out, shape(code_bytes), PartSizes::default())?;
        Ok(merged.len())
    })
    .map_err(py_error)
}

/// How many tracks a manifest (or a folder of audio) lists: what a distributed job cuts into
/// shares.
#[pyfunction]
fn count_tracks(manifest: PathBuf) -> PyResult<usize> {
    let entries = if manifest.is_dir() {
        read_folder(&manifest)
    } else {
        read_manifest(&manifest)
    };
    entries.map(|e| e.len()).map_err(py_error)
}

fn shape(code_bytes: usize) -> QuantizerShape {
    QuantizerShape {
        code_bytes,
        ..QuantizerShape::default()
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(build_index, m)?)?;
    m.add_function(wrap_pyfunction!(merge_index, m)?)?;
    m.add_function(wrap_pyfunction!(count_tracks, m)?)?;
    Ok(())
}
