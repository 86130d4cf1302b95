//! The pipeline compiled to wasm32 gives the native embeddings (`tests/golden.rs` checks the
//! native side against the same golden file). Runs in Node by default and in headless Chromium
//! with `WASM_BINDGEN_USE_BROWSER=1` (see scripts/test.sh).
#![cfg(target_arch = "wasm32")]

use simsong::wasm::SimilarityEngine;
use simsong::{Engine, Error};
use wasm_bindgen_test::*;

// The browser loads the NNEF form (the ONNX reader is not in the wasm build).
const MODEL: &[u8] = include_bytes!("fixtures/models/test-untrained.nnef.tar");
const GOLDEN: &str = include_str!("fixtures/golden/embeddings.json");
const TOLERANCE: f32 = 5e-6;

const FILES: [(&str, &[u8]); 7] = [
    (
        "real_music_a_44k.wav",
        include_bytes!("fixtures/audio/real_music_a_44k.wav"),
    ),
    (
        "real_music_a_44k.flac",
        include_bytes!("fixtures/audio/real_music_a_44k.flac"),
    ),
    (
        "real_music_a_44k.ogg",
        include_bytes!("fixtures/audio/real_music_a_44k.ogg"),
    ),
    (
        "real_music_a_44k.mp3",
        include_bytes!("fixtures/audio/real_music_a_44k.mp3"),
    ),
    (
        "real_music_a_44k.m4a",
        include_bytes!("fixtures/audio/real_music_a_44k.m4a"),
    ),
    (
        "real_music_b_16k.wav",
        include_bytes!("fixtures/audio/real_music_b_16k.wav"),
    ),
    (
        "synth_sine1k_48k_stereo.wav",
        include_bytes!("fixtures/audio/synth_sine1k_48k_stereo.wav"),
    ),
];

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[wasm_bindgen_test]
fn wasm_embeddings_match_native_golden() {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    let engine = Engine::from_model_bytes(MODEL).unwrap();
    for (name, bytes) in FILES {
        let a = engine
            .analyze_bytes(bytes.to_vec(), name.rsplit('.').next())
            .unwrap();
        let g = &golden["files"][name];
        let err = max_abs_diff(&a.embedding, &floats(&g["embedding"]));
        assert!(
            err <= TOLERANCE,
            "{name}: wasm embedding differs from native by {err}"
        );
        let segments = g["segments"].as_array().unwrap();
        assert_eq!(a.segments.len(), segments.len(), "{name}");
        for (s, gs) in a.segments.iter().zip(segments) {
            assert!(
                max_abs_diff(&s.embedding, &floats(gs)) <= TOLERANCE,
                "{name}: segment"
            );
        }
        assert!(max_abs_diff(&a.heads[0].probabilities, &floats(&g["instrument"])) <= TOLERANCE);
        // The tempo, computed by the same code from the same mel frames.
        for (ours, key) in [
            (a.tempo.bpm, "tempo_bpm"),
            (a.tempo.confidence, "tempo_confidence"),
        ] {
            let native = g[key].as_f64().unwrap();
            assert!(
                (f64::from(ours) - native).abs() <= 1e-3,
                "{name}: wasm {key} {ours} vs native {native}"
            );
        }
    }
}

#[wasm_bindgen_test]
fn js_facing_api_returns_the_same_embedding_and_a_spectrogram() {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    let engine = SimilarityEngine::new(MODEL).unwrap();
    let a = engine
        .analyze_file(
            &js_sys::Uint8Array::from(FILES[3].1),
            Some("clip.MP3".into()),
        )
        .unwrap();
    let err = max_abs_diff(
        &a.embedding(),
        &floats(&golden["files"]["real_music_a_44k.mp3"]["embedding"]),
    );
    assert!(err <= TOLERANCE, "{err}");
    assert_eq!(a.mel_bands(), 96);
    assert_eq!(a.mel_columns().len(), a.mel_bands() * a.mel_column_count());
    assert!(a.mel_column_count() > 100);
    assert_eq!(
        a.segment_starts().len() * a.embedding_dim(),
        a.segment_embeddings().len()
    );
}

#[wasm_bindgen_test]
fn an_analysis_job_stepped_from_js_gives_the_same_analysis() {
    let engine = SimilarityEngine::new(MODEL).unwrap();
    let bytes = js_sys::Uint8Array::from(FILES[3].1);
    let whole = engine
        .analyze_file(&bytes, Some("clip.mp3".into()))
        .unwrap();
    let mut job = engine.start_file(&bytes, Some("clip.mp3".into())).unwrap();
    job.set_budget(1.0, 1);
    let mut steps = 0;
    let stepped = loop {
        steps += 1;
        if let Some(a) = job.step(&engine).unwrap() {
            break a;
        }
        assert!(!job.progress().unwrap().is_undefined());
    };
    assert!(steps > 4, "small steps: {steps}");
    assert_eq!(whole.embedding(), stepped.embedding());
    assert_eq!(whole.segment_embeddings(), stepped.segment_embeddings());
    assert!(
        job.step(&engine).is_err(),
        "a finished job has nothing more to give"
    );
}

#[wasm_bindgen_test]
fn bad_input_is_an_error_not_a_panic_in_wasm() {
    let engine = Engine::from_model_bytes(MODEL).unwrap();
    assert!(matches!(
        engine.analyze_bytes(Vec::new(), Some("mp3")),
        Err(Error::EmptyInput)
    ));
    assert!(matches!(
        engine.analyze_bytes(b"not audio at all".to_vec(), Some("mp3")),
        Err(Error::UnsupportedFormat(_))
    ));
    assert!(matches!(
        engine.analyze_pcm(&[0.0; 16_000], 16_000, 1),
        Err(Error::Silent { .. })
    ));
    assert!(matches!(
        engine.analyze_pcm(&[f32::NAN; 4], 16_000, 1),
        Err(Error::NonFiniteSamples { .. })
    ));
    let wrong =
        Engine::from_model_bytes(include_bytes!("fixtures/models/test-wrong-nmels.nnef.tar"))
            .unwrap_err();
    assert!(
        wrong.to_string().contains("different analysis numbers"),
        "{wrong}"
    );
    let onnx = Engine::from_model_bytes(include_bytes!("fixtures/models/test-untrained.onnx"))
        .unwrap_err();
    assert!(onnx.to_string().contains("simsong model-export"), "{onnx}");
    assert!(Engine::from_model_bytes(b"garbage").is_err());
}
