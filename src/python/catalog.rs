//! Catalog builds from Python: an index of a manifest (whole, or one share of it for a
//! distributed job) and the merge of shares, by the same library code as `simsong index`.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::{Engine, SimsongError, py_error};
use crate::catalog::build::{BuildOptions, ShardSpec};
use crate::catalog::files::{merge_index_files, write_index};
use crate::catalog::{read_folder, read_manifest};
use crate::index::publish::PartSizes;
use crate::index::train::QuantizerShape;
use crate::index::{Precision, VersionLink};
use crate::versions::audit::{AuditOptions, AuditScope, audit_into};
use crate::versions::check::check_upload;

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
            let (mut index, report) =
                crate::catalog::build_index(&engine.inner, entries, options, &|| ())?;
            // A shard is audited once joined with the others (`merge_index`), as the CLI does.
            if shard.is_none() {
                audit_into(&mut index, AuditScope::All, AuditOptions::default())?;
            }
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
        let mut merged = merge_index_files(&inputs)?;
        audit_into(&mut merged, AuditScope::All, AuditOptions::default())?;
        write_index(&merged, &out, shape(code_bytes), PartSizes::default())?;
        Ok(merged.len())
    })
    .map_err(py_error)
}

/// The version groups of the one-file index at `catalog`: a list of dicts `{canonical?,
/// members: [ids], links: [{part, whole, source, score, timbre, tempo_ratio, pitch_semitones,
/// part_span, whole_span}]}`, as `simsong index versions --json` lists them (groups of two
/// tracks or more).
#[pyfunction]
fn version_groups<'py>(py: Python<'py>, catalog: PathBuf) -> PyResult<Bound<'py, PyList>> {
    let index = py
        .detach(|| crate::catalog::files::load_index_file(&catalog))
        .map_err(py_error)?;
    let groups = index.version_groups();
    let mut members: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for (t, &g) in groups.iter().enumerate() {
        members.entry(g).or_default().push(t as u32);
    }
    let id = |p: u32| index.tracks()[p as usize].id.clone();
    let list = PyList::empty(py);
    for (g, m) in members.into_iter().filter(|(_, m)| m.len() > 1) {
        let dict = PyDict::new(py);
        dict.set_item("members", m.iter().map(|&p| id(p)).collect::<Vec<_>>())?;
        let links = PyList::empty(py);
        for l in index
            .versions()
            .links
            .iter()
            .filter(|l| groups[l.part as usize] == g)
        {
            links.append(link_dict(py, l, &id(l.part), &id(l.whole))?)?;
        }
        dict.set_item("links", links)?;
        list.append(dict)?;
    }
    Ok(list)
}

fn link_dict<'py>(
    py: Python<'py>,
    l: &VersionLink,
    part: &str,
    whole: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("part", part)?;
    dict.set_item("whole", whole)?;
    dict.set_item("source", l.source.name())?;
    dict.set_item("score", l.score)?;
    dict.set_item("timbre", (!l.timbre.is_nan()).then_some(l.timbre))?;
    dict.set_item("tempo_ratio", l.tempo_ratio)?;
    dict.set_item("pitch_semitones", l.pitch_semitones)?;
    dict.set_item("part_span", l.part_span)?;
    dict.set_item("whole_span", l.whole_span)?;
    Ok(dict)
}

/// Whether the audio at `path` is a version of a track of the one-file index at `catalog` (as
/// `simsong check` says): `{is_version, versions: [{id, title, upload_is_part, score, timbre,
/// tempo_ratio, pitch_semitones, upload_span, track_span, cosine}], nearest: (id, cosine)}`,
/// best first. `engine` must be the model that built the index.
#[pyfunction]
#[pyo3(signature = (engine, catalog, path, *, candidates = crate::versions::check::DEFAULT_CANDIDATES))]
fn check<'py>(
    py: Python<'py>,
    engine: &Engine,
    catalog: PathBuf,
    path: PathBuf,
    candidates: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let (index, outcome) = py
        .detach(|| {
            let index = crate::catalog::files::load_index_file(&catalog)?;
            let e = &engine.inner;
            index.ensure_model(e.model_sha256(), &e.model_metadata().name)?;
            let front = e.front_end().clone().with_fingerprint(true);
            // Named by its path, as the CLI names a file it cannot read.
            let analysis = front
                .features_from_path(&path)
                .and_then(|features| e.analyze_features(features))
                .map_err(|err| crate::Error::Catalog(format!("{}: {err}", path.display())))?;
            let outcome = check_upload(&index, &analysis, candidates)?;
            Ok::<_, crate::Error>((index, outcome))
        })
        .map_err(py_error)?;
    let versions = PyList::empty(py);
    for m in &outcome.matches {
        let t = &index.tracks()[m.position];
        let l = &m.link;
        let dict = PyDict::new(py);
        dict.set_item("id", &t.id)?;
        dict.set_item("title", &t.title)?;
        dict.set_item("upload_is_part", m.upload_is_part)?;
        dict.set_item("score", l.score)?;
        dict.set_item("timbre", (!l.timbre.is_nan()).then_some(l.timbre))?;
        dict.set_item("tempo_ratio", l.tempo_ratio)?;
        dict.set_item("pitch_semitones", l.pitch_semitones)?;
        let (upload, track) = if m.upload_is_part {
            (l.part_span, l.whole_span)
        } else {
            (l.whole_span, l.part_span)
        };
        dict.set_item("upload_span", upload)?;
        dict.set_item("track_span", track)?;
        dict.set_item("cosine", m.cosine)?;
        versions.append(dict)?;
    }
    let dict = PyDict::new(py);
    dict.set_item("is_version", !outcome.matches.is_empty())?;
    dict.set_item("versions", versions)?;
    dict.set_item(
        "nearest",
        outcome
            .nearest
            .map(|(c, t)| (index.tracks()[t].id.clone(), c)),
    )?;
    Ok(dict)
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
    m.add_function(wrap_pyfunction!(version_groups, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    Ok(())
}
