//! Native index benchmarks, printed as JSON for `scripts/bench.sh`: file size, load time and
//! top-10 query latency for synthetic catalogs (10k, 100k, 600k tracks; f32 and int8) and for the
//! demo catalog when it exists. The synthetic index files are also written to OUT_DIR so that
//! `bench/index_wasm.mjs` times exactly the same files in wasm.
//!
//! `cargo bench --bench index -- OUT_DIR MODEL.onnx [DEMO.idx]`
//!
//! Synthetic tracks: 128-d unit vectors in 500 clusters (members have cosine ≈ 0.5 to each
//! other), catalog-like metadata (title, collection, 1-3 tags in two categories, half the
//! tracks untagged) and one segment per track.

mod common;

use std::time::Instant;

use common::time_ms;
use simsong::index::{Precision, Tags};
use simsong::search::{SearchRequest, TagFilter, search};
use simsong::{CatalogIndex, Engine, TrackMeta};

const DIM: usize = 128;
const SIZES: [usize; 3] = [10_000, 100_000, 600_000];

#[path = "../tests/common/rng.rs"]
mod rng;
use rng::Rng;

const GENRES: [&str; 12] = [
    "ambient",
    "cinematic",
    "corporate",
    "electronic",
    "folk",
    "hip hop",
    "jazz",
    "lounge",
    "orchestral",
    "pop",
    "rock",
    "world",
];
const MOODS: [&str; 8] = [
    "calm",
    "dark",
    "epic",
    "happy",
    "melancholic",
    "playful",
    "romantic",
    "tense",
];

fn synthetic(n: usize, precision: Precision, engine: &Engine) -> CatalogIndex {
    let mut meta = engine.model_metadata().clone();
    meta.embedding_dim = DIM;
    let mut index = CatalogIndex::new(&meta, engine.model_sha256(), precision);
    let mut rng = Rng(42);
    let centres: Vec<Vec<f32>> = (0..500).map(|_| rng.unit(DIM)).collect();
    for i in 0..n {
        let offset = rng.unit(DIM);
        let mut v: Vec<f32> = centres[i % 500]
            .iter()
            .zip(&offset)
            .map(|(c, e)| c + e)
            .collect();
        simsong::model::l2_normalize(&mut v);
        let mut tags = Tags::new();
        let r = rng.next();
        if r.is_multiple_of(2) {
            tags.insert("genre".into(), vec![GENRES[(r >> 8) as usize % 12].into()]);
            tags.insert("mood".into(), vec![MOODS[(r >> 16) as usize % 8].into()]);
        }
        let track = TrackMeta {
            id: format!("trk-{i:07}"),
            title: format!("Synthetic track {i}"),
            collection: format!("Album {}", i / 12),
            tags,
            duration_seconds: 60.0 + (r % 240) as f32,
            preview_url: Some(format!("previews/{i:07}.mp3")),
            license: Some("Store license".into()),
            ..Default::default()
        };
        index.add_embedding(track, &v, &[(0.0, &v)], 1).unwrap();
    }
    index
}

fn measure(index: &CatalogIndex, bytes: &[u8]) -> serde_json::Value {
    let n = index.len();
    let queries: Vec<String> = (0..16)
        .map(|i| index.tracks()[(i * 7919) % n].id.clone())
        .collect();
    let mut qi = 0;
    let plain = time_ms(30, || {
        let r = SearchRequest::similar_to_track(&queries[qi % queries.len()], 10);
        qi += 1;
        std::hint::black_box(search(index, &r).unwrap());
    });
    let mut filter = TagFilter::default();
    filter
        .catalog
        .insert("mood".into(), vec!["calm".into(), "happy".into()]);
    let filtered = time_ms(30, || {
        let mut r = SearchRequest::similar_to_track(&queries[qi % queries.len()], 10);
        r.filter = filter.clone();
        qi += 1;
        std::hint::black_box(search(index, &r).unwrap());
    });
    let load_runs = if n > 200_000 { 3 } else { 7 };
    serde_json::json!({
        "tracks": n,
        "file_bytes": bytes.len(),
        "load_ms": time_ms(load_runs, || {
            std::hint::black_box(CatalogIndex::from_bytes(bytes).unwrap());
        }),
        "top10_ms": plain,
        "top10_filtered_ms": filtered,
    })
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [out_dir, model, rest @ ..] = args.as_slice() else {
        eprintln!("usage: index OUT_DIR MODEL.onnx [DEMO.idx]");
        std::process::exit(2);
    };
    let engine = Engine::from_model_bytes(&std::fs::read(model).unwrap()).unwrap();
    let mut report = serde_json::json!({ "synthetic": {}, "dim": DIM });
    for n in SIZES {
        for (precision, name) in [(Precision::F32, "f32"), (Precision::Int8, "int8")] {
            let started = Instant::now();
            let index = synthetic(n, precision, &engine);
            let bytes = index.to_bytes().unwrap();
            eprintln!(
                "synthetic {n} {name}: built and encoded in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            let path = format!("{out_dir}/synth-{n}-{name}.idx");
            std::fs::write(&path, &bytes).unwrap();
            report["synthetic"][format!("{n}-{name}")] = measure(&index, &bytes);
        }
    }
    if let Some(bytes) = rest.first().and_then(|demo| std::fs::read(demo).ok()) {
        let index = CatalogIndex::from_bytes(&bytes).unwrap();
        report["demo"] = measure(&index, &bytes);
    }
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
