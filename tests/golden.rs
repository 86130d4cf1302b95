//! Native embeddings of fixture files against `tests/fixtures/golden/embeddings.json`, the same
//! file the wasm tests (`tests/wasm_parity.rs`, in Node and Chromium) compare against.
//!
//! Regenerate after an intentional change to the front end or the runner with
//! `SIMSONG_UPDATE_GOLDEN=1 cargo test --release --test golden`.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{max_abs_diff, read, test_model};
use simsong::Engine;

/// Files covering every decoder and the resampler.
pub const GOLDEN_FILES: [&str; 7] = [
    "real_music_a_44k.wav",
    "real_music_a_44k.flac",
    "real_music_a_44k.ogg",
    "real_music_a_44k.mp3",
    "real_music_a_44k.m4a",
    "real_music_b_16k.wav",
    "synth_sine1k_48k_stereo.wav",
];

/// Each side (native, wasm) must be within this of the golden values, so the two are within
/// 1e-5 of each other.
const TOLERANCE: f32 = 5e-6;

#[test]
fn native_embeddings_match_golden() {
    let engine = Engine::from_model_bytes(&test_model()).unwrap();
    let mut files = serde_json::Map::new();
    for name in GOLDEN_FILES {
        let a = engine
            .analyze_bytes(read(&format!("audio/{name}")), name.rsplit('.').next())
            .unwrap();
        let segments: Vec<_> = a.segments.iter().map(|s| s.embedding.clone()).collect();
        files.insert(
            name.into(),
            serde_json::json!({
                "embedding": a.embedding,
                "segments": segments,
                "instrument": a.heads[0].probabilities,
                "duration_s": a.source.duration_seconds(),
                "tempo_bpm": a.tempo.bpm,
                "tempo_confidence": a.tempo.confidence,
            }),
        );
    }
    let path = common::fixture("golden/embeddings.json");
    let ours = serde_json::json!({ "model": "models/test-untrained.onnx", "files": files });
    if std::env::var_os("SIMSONG_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&ours).unwrap()).unwrap();
        return;
    }
    let golden: serde_json::Value =
        serde_json::from_slice(&read("golden/embeddings.json")).unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    for name in GOLDEN_FILES {
        let (g, o) = (&golden["files"][name], &ours["files"][name]);
        let err = max_abs_diff(&floats(&o["embedding"]), &floats(&g["embedding"]));
        assert!(
            err <= TOLERANCE,
            "{name}: embedding differs from golden by {err}"
        );
        let (gs, os) = (
            g["segments"].as_array().unwrap(),
            o["segments"].as_array().unwrap(),
        );
        assert_eq!(gs.len(), os.len(), "{name}: segment count");
        for (a, b) in gs.iter().zip(os) {
            assert!(
                max_abs_diff(&floats(a), &floats(b)) <= TOLERANCE,
                "{name}: segment"
            );
        }
        assert!(max_abs_diff(&floats(&o["instrument"]), &floats(&g["instrument"])) <= TOLERANCE);
        for key in ["tempo_bpm", "tempo_confidence"] {
            let (a, b) = (o[key].as_f64().unwrap(), g[key].as_f64().unwrap());
            assert!((a - b).abs() <= 1e-3, "{name}: {key} {a} vs golden {b}");
        }
    }
}
