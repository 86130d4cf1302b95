//! The published index at store scale, natively, printed as JSON for `scripts/bench.sh`: bytes
//! per track of every part, the bytes a fresh page fetches for its first result list (after
//! the manifest: the quantiser, cell tables, probed cells, re-ranking blocks, details),
//! recall@10 against an exact f32 scan (by shortlist length, by cells probed, with no filter
//! and with a filter keeping ~1% of the tracks), and search time.
//!
//! `cargo bench --bench parts -- CATALOG.idx PARTS_DIR [QUERIES] [FILTER]`, with
//! `SIMSONG_DROPPED_QUERIES=FILE` (raw little-endian f32 rows) for the dropped-file recall.
//!
//! CATALOG.idx is the one-file (f32) index the parts were published from: it gives the exact
//! answers. FILTER is `category:value` (default `use:wedding`, ~1% of a synthetic catalog).

mod common;

use std::collections::{BTreeSet, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Instant;

use common::time_ms;
use simsong::CatalogIndex;
use simsong::index::parted::task::{Step, run_to_end};
use simsong::index::parted::{Fetch, PartedIndex};
use simsong::index::quantizer::MAX_CELLS;
use simsong::search::parted::{PROBE_CELLS, SearchTask, shortlist_len};
use simsong::search::{Reference, SearchRequest, TagFilter, search};

fn read(dir: &Path, f: &Fetch) -> simsong::Result<Vec<u8>> {
    let mut file =
        std::fs::File::open(dir.join(&f.file)).map_err(|e| simsong::Error::IndexPart {
            part: f.file.clone(),
            problem: e.to_string(),
        })?;
    file.seek(SeekFrom::Start(f.offset)).unwrap();
    let mut out = Vec::with_capacity(f.length as usize);
    file.take(f.length).read_to_end(&mut out).unwrap();
    Ok(out)
}

/// Loads the whole index (as a page does at idle); returns it and the bytes that took.
fn open(dir: &Path) -> (PartedIndex, u64) {
    let manifest = std::fs::read(dir.join("index.json")).unwrap();
    let mut index = PartedIndex::new(&manifest).unwrap();
    let mut bytes = manifest.len() as u64;
    for f in index.load_needs() {
        let data = read(dir, &f).unwrap();
        bytes += data.len() as u64;
        index.provide(f.key, &data).unwrap();
    }
    (index, bytes)
}

/// One search from a fresh page that has loaded only the manifest: the bytes it fetches
/// (pieces of one file closer than 4 KB merge into one request, as catalog-fetch.js does) and
/// its ids.
fn cold_search(dir: &Path, request: &SearchRequest, shortlist: usize) -> (u64, u64, Vec<String>) {
    cold_task(
        dir,
        SearchTask::new(request.clone())
            .unwrap()
            .with_shortlist(shortlist),
    )
}

/// [`cold_search`] of a task as given.
fn cold_task(dir: &Path, mut task: SearchTask) -> (u64, u64, Vec<String>) {
    let manifest = std::fs::read(dir.join("index.json")).unwrap();
    let mut index = PartedIndex::new(&manifest).unwrap();
    let (mut bytes, mut requests) = (0u64, 0u64);
    loop {
        match task.step(&mut index).unwrap() {
            Step::Done(outcome) => {
                return (
                    bytes,
                    requests,
                    outcome.hits.into_iter().map(|h| h.hit.id).collect(),
                );
            }
            Step::Need(needs) => {
                let mut ranges: Vec<(String, u64, u64)> = needs
                    .iter()
                    .map(|f| (f.file.clone(), f.offset, f.offset + f.length))
                    .collect();
                ranges.sort();
                let mut merged: Vec<(String, u64, u64)> = Vec::new();
                for (file, start, end) in ranges {
                    match merged.last_mut() {
                        Some((f, _, e)) if *f == file && start <= *e + 4096 => *e = (*e).max(end),
                        _ => merged.push((file, start, end)),
                    }
                }
                requests += merged.len() as u64;
                bytes += merged.iter().map(|(_, s, e)| e - s).sum::<u64>();
                for f in needs {
                    let data = read(dir, &f).unwrap();
                    index.provide(f.key, &data).unwrap();
                }
            }
        }
    }
}

/// The ids a search task answers on `index` (pieces read from `dir`).
fn answer(index: &mut PartedIndex, dir: &Path, mut task: SearchTask) -> Vec<String> {
    let outcome = run_to_end(index, |i| task.step(i), |fetch| read(dir, fetch)).unwrap();
    outcome.hits.into_iter().map(|h| h.hit.id).collect()
}

/// Cells probed in the recall-by-probes figures (`MAX_CELLS`: every cell, as after the idle
/// load, reported as "all").
const PROBES: [usize; 6] = [8, 16, 32, 64, 128, MAX_CELLS];

fn probes_label(probes: usize) -> String {
    if probes == MAX_CELLS {
        "all".into()
    } else {
        probes.to_string()
    }
}

fn recall(exact: &[String], got: &[String]) -> f64 {
    let e: HashSet<&String> = exact.iter().collect();
    got.iter().filter(|g| e.contains(g)).count() as f64 / exact.len().max(1) as f64
}

fn percentile(v: &mut [u64], p: f64) -> u64 {
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [idx, dir, rest @ ..] = args.as_slice() else {
        eprintln!("usage: parts CATALOG.idx PARTS_DIR [QUERIES] [FILTER]");
        std::process::exit(2);
    };
    let queries: usize = rest.first().map_or(200, |q| q.parse().unwrap());
    let filter_spec = rest.get(1).map_or("use:wedding", String::as_str);
    let dir = Path::new(dir);
    let exact_index = CatalogIndex::from_bytes(&std::fs::read(idx).unwrap()).unwrap();
    let n = exact_index.len();
    let (category, value) = filter_spec.split_once(':').unwrap();
    let filter = TagFilter {
        catalog: [(category.to_string(), vec![value.to_string()])].into(),
        ..Default::default()
    };
    let filtered_share = filter
        .mask(&exact_index)
        .iter()
        .map(|w| w.count_ones() as f64)
        .sum::<f64>()
        / n as f64;

    let started = Instant::now();
    let (mut index, load_bytes) = open(dir);
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let manifest = index.manifest().clone();
    let query_ids: Vec<String> = (0..queries)
        .map(|i| exact_index.tracks()[(i * 7919 + 13) % n].id.clone())
        .collect();

    let mut report = serde_json::json!({
        "tracks": n,
        "queries": queries,
        "load": { "bytes": load_bytes, "ms": load_ms },
        "filter": { "spec": filter_spec, "share": filtered_share },
        "layout": manifest.layout,
    });
    // Bytes per track of every part.
    let mut parts = serde_json::Map::new();
    for (kind, _, file) in manifest.all_parts() {
        let e = parts
            .entry(kind.name())
            .or_insert(serde_json::json!({ "files": 0, "bytes": 0 }));
        e["files"] = (e["files"].as_u64().unwrap() + 1).into();
        e["bytes"] = (e["bytes"].as_u64().unwrap() + file.bytes).into();
    }
    for v in parts.values_mut() {
        v["bytes_per_track"] = (v["bytes"].as_f64().unwrap() / n as f64).into();
    }
    parts.insert(
        "manifest".into(),
        serde_json::json!({ "files": 1, "bytes": manifest.to_json().len() }),
    );
    report["parts"] = parts.into();

    for (label, f) in [
        ("unfiltered", TagFilter::default()),
        ("filtered", filter.clone()),
    ] {
        let mut recalls = serde_json::Map::new();
        let exact: Vec<Vec<String>> = query_ids
            .iter()
            .map(|id| {
                let r = SearchRequest {
                    filter: f.clone(),
                    ..SearchRequest::similar_to_track(id, 10)
                };
                search(&exact_index, &r)
                    .unwrap()
                    .into_iter()
                    .map(|h| h.id)
                    .collect()
            })
            .collect();
        // What the page answers (from the neighbour lists where they can: "Similar" unfiltered).
        let mut answered = 0.0;
        for (id, truth) in query_ids.iter().zip(&exact) {
            let r = SearchRequest {
                filter: f.clone(),
                ..SearchRequest::similar_to_track(id, 10)
            };
            let mut task = SearchTask::new(r).unwrap();
            let outcome =
                run_to_end(&mut index, |i| task.step(i), |fetch| read(dir, fetch)).unwrap();
            let got: Vec<String> = outcome.hits.into_iter().map(|h| h.hit.id).collect();
            answered += recall(truth, &got);
        }
        // The codes' recall (every cell) at several shortlist lengths (10 is the codes alone, before
        // re-ranking), the lists left aside: what a query the lists cannot answer gets.
        for len in [10, 50, shortlist_len(10), 200, 400] {
            let mut total = 0.0;
            for (id, truth) in query_ids.iter().zip(&exact) {
                let r = SearchRequest {
                    filter: f.clone(),
                    ..SearchRequest::similar_to_track(id, 10)
                };
                let mut task = SearchTask::new(r)
                    .unwrap()
                    .with_shortlist(len)
                    .without_neighbour_lists();
                let outcome =
                    run_to_end(&mut index, |i| task.step(i), |fetch| read(dir, fetch)).unwrap();
                let got: Vec<String> = outcome.hits.into_iter().map(|h| h.hit.id).collect();
                total += recall(truth, &got);
            }
            recalls.insert(len.to_string(), (total / queries as f64).into());
        }
        // By cells probed (the default shortlist): a first search probes PROBE_CELLS (more with
        // a filter), a search after the idle load every cell.
        let mut by_probes = serde_json::Map::new();
        for probes in PROBES {
            let mut total = 0.0;
            for (id, truth) in query_ids.iter().zip(&exact) {
                let r = SearchRequest {
                    filter: f.clone(),
                    ..SearchRequest::similar_to_track(id, 10)
                };
                let task = SearchTask::new(r)
                    .unwrap()
                    .with_probes(probes)
                    .without_neighbour_lists();
                total += recall(truth, &answer(&mut index, dir, task));
            }
            by_probes.insert(probes_label(probes), (total / queries as f64).into());
        }
        // Bytes a fresh page fetches for its first result list (after the manifest).
        let mut bytes = Vec::new();
        let mut requests = Vec::new();
        for id in query_ids.iter().take(40) {
            let r = SearchRequest {
                filter: f.clone(),
                ..SearchRequest::similar_to_track(id, 10)
            };
            let (b, q, _) = cold_search(dir, &r, shortlist_len(10));
            bytes.push(b);
            requests.push(q);
        }
        let mean = bytes.iter().sum::<u64>() as f64 / bytes.len() as f64;
        // Time of the codes' ranking (ADC + re-ranking + best segments), with the
        // pieces it needs cached: 8 queries, whose metadata shards fit in the caches.
        let mut qi = 0;
        let time = time_ms(32, || {
            let r = SearchRequest {
                filter: f.clone(),
                ..SearchRequest::similar_to_track(&query_ids[qi % query_ids.len().min(8)], 10)
            };
            qi += 1;
            let mut task = SearchTask::new(r).unwrap().without_neighbour_lists();
            std::hint::black_box(
                run_to_end(&mut index, |i| task.step(i), |fetch| read(dir, fetch)).unwrap(),
            );
        });
        report[label] = serde_json::json!({
            "recall_at_10": answered / queries as f64,
            "recall_at_10_by_shortlist": recalls,
            "recall_at_10_by_probes": by_probes,
            "first_search_bytes": { "mean": mean, "p90": percentile(&mut bytes, 0.9), "max": *bytes.iter().max().unwrap() },
            "first_search_requests": { "mean": requests.iter().sum::<u64>() as f64 / requests.len() as f64, "max": *requests.iter().max().unwrap() },
            "top10_ms": time,
        });
    }
    // Dropped files: real music of packages held out of the catalog (scripts/synth_catalog.py's
    // queries.npz, written as raw little-endian f32 rows to $SIMSONG_DROPPED_QUERIES by
    // bench/parts/run.sh), searched by embedding through the codes, unfiltered and with
    // the filter, against the exact scan of the one-file index.
    if let Ok(path) = std::env::var("SIMSONG_DROPPED_QUERIES") {
        let raw = std::fs::read(&path).unwrap();
        let dim = exact_index.dim();
        let vectors: Vec<Vec<f32>> = raw
            .chunks_exact(4 * dim)
            .map(|row| {
                row.chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect()
            })
            .collect();
        for (label, f) in [
            ("dropped", TagFilter::default()),
            ("dropped_filtered", filter.clone()),
        ] {
            let request = |v: &Vec<f32>| SearchRequest {
                positive: vec![Reference::Embedding(v.clone())],
                filter: f.clone(),
                ..SearchRequest::default()
            };
            let exact: Vec<Vec<String>> = vectors
                .iter()
                .map(|v| {
                    let hits = search(&exact_index, &request(v)).unwrap();
                    hits.into_iter().map(|h| h.id).collect()
                })
                .collect();
            // What a first search answers (PROBE_CELLS cells; more with a filter), from a fresh
            // page: recall and bytes.
            let mut first = 0.0;
            let mut bytes = Vec::new();
            for (v, truth) in vectors.iter().zip(&exact) {
                let (b, _, got) = cold_search(dir, &request(v), shortlist_len(10));
                first += recall(truth, &got);
                bytes.push(b);
            }
            // After the idle load (every cell), by shortlist length.
            let mut recalls = serde_json::Map::new();
            for len in [10, 50, shortlist_len(10), 400] {
                let mut total = 0.0;
                for (v, truth) in vectors.iter().zip(&exact) {
                    let task = SearchTask::new(request(v)).unwrap().with_shortlist(len);
                    total += recall(truth, &answer(&mut index, dir, task));
                }
                recalls.insert(len.to_string(), (total / vectors.len() as f64).into());
            }
            let mut by_probes = serde_json::Map::new();
            for probes in PROBES {
                let mut total = 0.0;
                for (v, truth) in vectors.iter().zip(&exact) {
                    let task = SearchTask::new(request(v)).unwrap().with_probes(probes);
                    total += recall(truth, &answer(&mut index, dir, task));
                }
                by_probes.insert(probes_label(probes), (total / vectors.len() as f64).into());
            }
            let mean = bytes.iter().sum::<u64>() as f64 / bytes.len() as f64;
            // With a filter: recall and first-search bytes by the eligible tracks the probed
            // cells must hold (PROBE_MIN_ELIGIBLE by default), on 60 of the queries.
            let mut by_min_eligible = serde_json::Map::new();
            if !f.is_empty() {
                for min in [250, 500, 1000, 2000] {
                    let (mut total, mut sum_bytes) = (0.0, 0u64);
                    for (v, truth) in vectors.iter().zip(&exact).take(60) {
                        let task = SearchTask::new(request(v)).unwrap().with_min_eligible(min);
                        let (b, _, got) = cold_task(dir, task);
                        total += recall(truth, &got);
                        sum_bytes += b;
                    }
                    by_min_eligible.insert(
                        min.to_string(),
                        serde_json::json!({ "recall_at_10": total / 60.0, "first_search_bytes": sum_bytes as f64 / 60.0 }),
                    );
                }
            }
            report[label] = serde_json::json!({
                "by_min_eligible": by_min_eligible,
                "queries": vectors.len(),
                "recall_at_10": first / vectors.len() as f64,
                "probe_cells": PROBE_CELLS,
                "first_search_bytes": { "mean": mean, "p90": percentile(&mut bytes, 0.9), "max": *bytes.iter().max().unwrap() },
                "recall_at_10_by_shortlist": recalls,
                "recall_at_10_by_probes": by_probes,
            });
        }
    }
    report["held_bytes"] = index.held_bytes().into();
    let distinct: BTreeSet<&str> = query_ids.iter().map(String::as_str).collect();
    report["distinct_queries"] = distinct.len().into();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
