//! The catalog index and search: file format (and its rejections), filters, references,
//! best segments, int8 recall.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeMap;

use common::rng::Rng;
use common::{fixture, test_model};
use simsong::index::format::{FORMAT_VERSION, HEADER_LEN};
use simsong::index::{Precision, Tags};
use simsong::search::{Reference, SearchRequest, TagFilter, search};
use simsong::{CatalogIndex, Engine, Error, TrackMeta};

fn engine() -> Engine {
    Engine::from_model_bytes(&test_model()).unwrap()
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    let mut t = Tags::new();
    for (c, v) in pairs {
        t.entry(c.to_string()).or_default().push(v.to_string());
    }
    t
}

fn meta(id: &str, tag_pairs: &[(&str, &str)]) -> TrackMeta {
    TrackMeta {
        id: id.into(),
        title: format!("Title of {id}"),
        collection: "fixtures".into(),
        tags: tags(tag_pairs),
        ..Default::default()
    }
}

/// An index of real fixture audio analysed by the (untrained) fixture model.
fn real_index(precision: Precision) -> CatalogIndex {
    let engine = engine();
    let mut index = CatalogIndex::new(engine.model_metadata(), engine.model_sha256(), precision);
    let files: [(&str, &[(&str, &str)]); 5] = [
        (
            "real_music_a_44k.wav",
            &[("genre", "game"), ("mood", "upbeat")],
        ),
        (
            "real_music_b_16k.wav",
            &[("genre", "game"), ("mood", "calm")],
        ),
        ("synth_chirp_16k.wav", &[("genre", "test")]),
        (
            "synth_noise_16k.wav",
            &[("genre", "test"), ("mood", "calm")],
        ),
        ("synth_sine440_16k.wav", &[]),
    ];
    for (file, t) in files {
        let analysis = engine
            .analyze_path(&fixture(&format!("audio/{file}")))
            .unwrap();
        index.add_track(meta(file, t), &analysis, 64).unwrap();
    }
    index
}

/// `n` unit vectors in `clusters` clusters (like genres): centre + `noise` × a random unit
/// vector. With noise 1.0 members of a cluster have cosine ≈ 0.5 to each other (like tracks of
/// one collection under a trained model); with 0.6 about 0.74, and near-ties abound, which is
/// the hard case for quantisation.
fn clustered(n: usize, dim: usize, clusters: usize, noise: f32, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng(seed);
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| rng.unit(dim)).collect();
    (0..n)
        .map(|i| {
            let offset = rng.unit(dim);
            let mut v: Vec<f32> = centres[i % clusters]
                .iter()
                .zip(&offset)
                .map(|(c, e)| c + noise * e)
                .collect();
            simsong::model::l2_normalize(&mut v);
            v
        })
        .collect()
}

fn synthetic_index(vectors: &[Vec<f32>], precision: Precision) -> CatalogIndex {
    let engine = engine();
    let mut meta_model = engine.model_metadata().clone();
    meta_model.embedding_dim = vectors[0].len();
    let mut index = CatalogIndex::new(&meta_model, engine.model_sha256(), precision);
    for (i, v) in vectors.iter().enumerate() {
        index
            .add_embedding(meta(&format!("t{i}"), &[]), v, &[(0.0, v)], 8)
            .unwrap();
    }
    index
}

fn ids(hits: &[simsong::SearchHit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

/// Rewrites header + checksum around a new payload, as a careful attacker would.
fn with_payload(payload: &[u8], version: u32) -> Vec<u8> {
    let mut out = simsong::index::format::MAGIC.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&simsong::index::format::checksum(payload));
    out.extend_from_slice(payload);
    out
}

/// Why `bytes` are refused; reading them from a file (a piece at a time) must say the same.
fn load_err(bytes: &[u8]) -> String {
    let e = match CatalogIndex::from_bytes(bytes) {
        Ok(_) => panic!("loaded a bad index"),
        Err(e) => e.to_string(),
    };
    assert_eq!(read_back(bytes).expect_err("read a bad index file"), e);
    e
}

/// `bytes` written to a file and read back with [`CatalogIndex::read_file`].
fn read_back(bytes: &[u8]) -> Result<CatalogIndex, String> {
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = common::tmp(&format!("index-{n}.idx"));
    std::fs::write(&path, bytes).unwrap();
    let read = CatalogIndex::read_file(&path).map_err(|e| e.to_string());
    std::fs::remove_file(&path).unwrap();
    read
}

#[test]
fn round_trip_keeps_everything() {
    for precision in [Precision::F32, Precision::Int8] {
        let index = real_index(precision);
        let bytes = index.to_bytes().unwrap();
        let back = CatalogIndex::from_bytes(&bytes).unwrap();
        assert_eq!(back, index);
        assert_eq!(read_back(&bytes).unwrap(), index);
        assert_eq!(back.len(), 5);
        assert_eq!(back.position("synth_chirp_16k.wav"), Some(2));
        // 6 s of real music at 2.99 s per patch: two patches (the 16 ms left over get no tail patch).
        assert_eq!(back.segment_range(0).len(), 2);
    }
}

#[test]
fn damaged_files_are_rejected_with_a_reason() {
    let good = real_index(Precision::Int8).to_bytes().unwrap();
    assert!(load_err(&[]).contains("empty"));
    assert!(load_err(b"ID3\x04garbage").contains("wrong magic"));
    assert!(load_err(&good[..30]).contains("truncated"));
    let e = load_err(&good[..good.len() - 100]);
    assert!(e.contains("truncated") && e.contains("announces"), "{e}");
    let mut extra = good.clone();
    extra.extend_from_slice(b"tail");
    assert!(load_err(&extra).contains("unexpected bytes"));
    // One flipped bit anywhere in the payload is caught by the checksum.
    for at in [HEADER_LEN, good.len() / 2, good.len() - 1] {
        let mut flipped = good.clone();
        flipped[at] ^= 0x10;
        assert!(load_err(&flipped).contains("checksum"), "bit at {at}");
    }
    // A flipped bit in the stored checksum itself.
    let mut flipped = good.clone();
    flipped[30] ^= 1; // inside the stored checksum
    assert!(load_err(&flipped).contains("checksum"));
}

#[test]
fn future_versions_are_refused_by_number() {
    let good = real_index(Precision::Int8).to_bytes().unwrap();
    let future = with_payload(&good[HEADER_LEN..], FORMAT_VERSION + 1);
    match CatalogIndex::from_bytes(&future) {
        Err(Error::IndexVersion { found, supported }) => {
            assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION));
        }
        other => panic!("expected a version error, got {other:?}"),
    }
}

#[test]
fn a_lying_length_field_cannot_make_the_loader_allocate() {
    // A valid header, then a track list claiming one track whose id is 2^40 bytes long, under a
    // correct checksum: decoding must stop at the byte limit, not try to allocate a terabyte.
    let index = real_index(Precision::Int8);
    let mut payload =
        bincode::serde::encode_to_vec(index.header(), bincode::config::standard()).unwrap();
    payload.push(1); // one track
    payload.push(253); // varint marker: u64 follows
    payload.extend_from_slice(&(1u64 << 40).to_le_bytes());
    payload.extend_from_slice(b"not that many bytes");
    let e = load_err(&with_payload(&payload, FORMAT_VERSION));
    assert!(e.contains("undecodable"), "{e}");
    // Same with a billion tracks in the list.
    let mut payload =
        bincode::serde::encode_to_vec(index.header(), bincode::config::standard()).unwrap();
    payload.push(252);
    payload.extend_from_slice(&1_000_000_000u32.to_le_bytes());
    let e = load_err(&with_payload(&payload, FORMAT_VERSION));
    assert!(e.contains("undecodable"), "{e}");
}

#[test]
fn an_index_is_tied_to_its_model() {
    let index = real_index(Precision::Int8);
    let engine = engine();
    index
        .ensure_model(engine.model_sha256(), "test-untrained")
        .unwrap();
    let e = index
        .ensure_model(&"0".repeat(64), "another-model")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test-untrained") && e.contains("another-model"),
        "{e}"
    );
}

#[test]
fn analysis_numbers_travel_with_the_index() {
    let index = real_index(Precision::Int8);
    let mut header = index.header().clone();
    header.analysis.hop_length = 512;
    let (tracks, emb, seg, fp) = (
        index.tracks().to_vec(),
        index.embeddings().clone(),
        index.segments().clone(),
        index.fingerprints().clone(),
    );
    let e = CatalogIndex::from_parts(header, tracks, emb, seg, fp, Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("hop_length") && e.contains("512"), "{e}");
}

#[test]
fn a_track_is_its_own_nearest_neighbour_and_references_are_excluded() {
    let index = real_index(Precision::F32);
    let hits = search(
        &index,
        &SearchRequest::similar_to_track("real_music_a_44k.wav", 4),
    )
    .unwrap();
    assert_eq!(hits.len(), 4);
    assert!(!ids(&hits).contains(&"real_music_a_44k.wav"));
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    // By embedding instead: the track itself comes first with cosine 1.
    let emb = index.embedding(0);
    let hits = search(&index, &SearchRequest::similar_to_embedding(emb, 2)).unwrap();
    assert_eq!(hits[0].id, "real_music_a_44k.wav");
    assert!((hits[0].score - 1.0).abs() < 1e-5);
    // The best segment is one of the track's own segment starts.
    let starts = &index.segments().starts_seconds[index.segment_range(0)];
    assert!(starts.contains(&hits[0].best_segment_seconds.unwrap()));
    assert!(hits[0].best_segment_score.unwrap() > 0.9);
}

#[test]
fn tag_filters_any_of_within_all_of_across_and_outside() {
    let index = real_index(Precision::F32);
    let q = index.embedding(4);
    let run = |filter: TagFilter| {
        // The posting-list mask that search uses agrees with the per-track definition.
        let mask = filter.mask(&index);
        for (i, track) in index.tracks().iter().enumerate() {
            assert_eq!(mask[i / 64] & (1 << (i % 64)) != 0, filter.accepts(track));
        }
        assert_eq!(mask[0] >> index.len(), 0, "no bits past the last track");
        let mut r = SearchRequest::similar_to_embedding(q.clone(), 10);
        r.filter = filter;
        let mut found: Vec<String> = search(&index, &r)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        found.sort();
        found
    };
    let filter = |pairs: &[(&str, &str)], outside| TagFilter {
        catalog: tags(pairs),
        predicted: BTreeMap::new(),
        outside,
        ..Default::default()
    };
    assert_eq!(
        run(filter(&[("mood", "calm"), ("mood", "upbeat")], false)),
        [
            "real_music_a_44k.wav",
            "real_music_b_16k.wav",
            "synth_noise_16k.wav"
        ]
    );
    assert_eq!(
        run(filter(&[("mood", "calm"), ("genre", "game")], false)),
        ["real_music_b_16k.wav"]
    );
    // Outside: everything that does not match, untagged tracks included.
    assert_eq!(
        run(filter(&[("mood", "calm"), ("genre", "game")], true)),
        [
            "real_music_a_44k.wav",
            "synth_chirp_16k.wav",
            "synth_noise_16k.wav",
            "synth_sine440_16k.wav"
        ]
    );
    assert!(run(filter(&[("genre", "jazz")], false)).is_empty());
    assert_eq!(run(filter(&[("genre", "jazz")], true)).len(), 5);
}

#[test]
fn exclusions_negatives_and_bad_requests() {
    let index = real_index(Precision::F32);
    let mut r = SearchRequest::similar_to_track("real_music_a_44k.wav", 10);
    r.exclude = vec!["real_music_b_16k.wav".into(), "no-such-id".into()];
    let found = search(&index, &r).unwrap();
    assert_eq!(found.len(), 3);
    assert!(!ids(&found).contains(&"real_music_b_16k.wav"));

    // "Less like this" pushes the negative reference's nearest neighbours down.
    let plain = search(
        &index,
        &SearchRequest::similar_to_track("real_music_a_44k.wav", 4),
    )
    .unwrap();
    let mut r = SearchRequest::similar_to_track("real_music_a_44k.wav", 4);
    r.negative = vec![Reference::Track(plain[0].id.clone())];
    let pushed = search(&index, &r).unwrap();
    assert!(!ids(&pushed).contains(&plain[0].id.as_str()));
    assert!(pushed[0].score < plain[0].score);

    let mut two = SearchRequest::similar_to_track("synth_chirp_16k.wav", 3);
    two.positive
        .push(Reference::Track("synth_noise_16k.wav".into()));
    let both = search(&index, &two).unwrap();
    assert!(!ids(&both).contains(&"synth_chirp_16k.wav"));
    assert!(!ids(&both).contains(&"synth_noise_16k.wav"));

    let err = |r: SearchRequest| search(&index, &r).unwrap_err().to_string();
    assert!(err(SearchRequest::similar_to_track("nope", 3)).contains("`nope`"));
    assert!(err(SearchRequest::similar_to_track("synth_chirp_16k.wav", 0)).contains("k = 0"));
    assert!(err(SearchRequest::similar_to_embedding(vec![0.1; 5], 3)).contains("needs 32"));
    assert!(err(SearchRequest::default()).contains("at least one reference"));
}

#[test]
fn add_and_remove_keep_the_index_consistent() {
    let mut index = real_index(Precision::Int8);
    let before = index.clone();
    assert_eq!(index.remove(&["real_music_b_16k.wav", "missing"]), 1);
    assert_eq!(index.len(), 4);
    assert_eq!(index.position("synth_chirp_16k.wav"), Some(1));
    assert_eq!(
        index.embedding(1),
        before.embedding(before.position("synth_chirp_16k.wav").unwrap())
    );
    let n_seg = |i: &CatalogIndex, id: &str| i.segment_range(i.position(id).unwrap()).len();
    assert_eq!(
        n_seg(&index, "synth_sine440_16k.wav"),
        n_seg(&before, "synth_sine440_16k.wav")
    );
    // Round trip after removal, then a duplicate id is refused.
    let back = CatalogIndex::from_bytes(&index.to_bytes().unwrap()).unwrap();
    assert_eq!(back, index);
    let emb = index.embedding(0);
    let dup = index.add_embedding(meta("synth_chirp_16k.wav", &[]), &emb, &[], 4);
    assert!(dup.unwrap_err().to_string().contains("already"));
}

/// Recall@10 of the int8 index against the exact one, over 200 queries.
fn int8_recall(noise: f32) -> f64 {
    let vectors = clustered(5000, 128, 40, noise, 7);
    let exact = synthetic_index(&vectors, Precision::F32);
    let quant = synthetic_index(&vectors, Precision::Int8);
    let queries = clustered(200, 128, 40, noise, 99);
    let mut found = 0;
    for q in &queries {
        let a = search(&exact, &SearchRequest::similar_to_embedding(q.clone(), 10)).unwrap();
        let b = search(&quant, &SearchRequest::similar_to_embedding(q.clone(), 10)).unwrap();
        found += b
            .iter()
            .filter(|h| ids(&a).contains(&h.id.as_str()))
            .count();
        for (x, y) in a.iter().zip(&b) {
            if x.id == y.id {
                assert!((x.score - y.score).abs() < 5e-3);
            }
        }
    }
    let recall = found as f64 / (10 * queries.len()) as f64;
    println!("int8 recall@10 on 5000 clustered vectors, noise {noise}: {recall:.4}");
    recall
}

#[test]
fn int8_recall_at_10_against_f32() {
    let realistic = int8_recall(1.0);
    assert!(realistic >= 0.99, "recall@10 {realistic}");
    // Tight clusters: 125 near-duplicates per cluster, score gaps near the 8-bit noise.
    let hard = int8_recall(0.6);
    assert!(hard >= 0.98, "recall@10 {hard}");
    let vectors = clustered(100, 128, 4, 1.0, 3);
    let (f, q) = (
        synthetic_index(&vectors, Precision::F32)
            .embeddings()
            .byte_size(),
        synthetic_index(&vectors, Precision::Int8)
            .embeddings()
            .byte_size(),
    );
    assert!(q * 3 < f, "int8 {q} bytes vs f32 {f}");
}
