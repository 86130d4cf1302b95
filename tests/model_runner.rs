//! The tract model runner: loading, validation against the analysis numbers, and outputs
//! cross-checked with ONNX's reference evaluator.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{max_abs_diff, npy2, read, test_model};
use simsong::model::{Model, l2_normalize, softmax};
use simsong::patches::Patch;
use simsong::{Engine, Error};

#[test]
fn loads_the_fixture_and_reads_its_metadata() {
    let model = Model::from_bytes(&test_model()).unwrap();
    let meta = model.metadata();
    assert_eq!(meta.name, "test-untrained");
    assert!(!meta.trained, "the fixture must say it is untrained");
    assert_eq!(meta.embedding_dim, 32);
    assert_eq!(meta.heads[0].output, "instrument");
    assert_eq!(meta.heads[0].classes.len(), 6);
    assert_eq!(model.sha256().len(), 64);
}

#[test]
fn outputs_match_onnx_reference_evaluator() {
    // First 187 frames of librosa's log-mel of real_music_a, through onnx.reference.
    let mel = npy2("reference/real_music_a_16k.logmel.npy");
    let mut data = Vec::with_capacity(96 * 187);
    for m in 0..96 {
        for t in 0..187 {
            data.push(mel[[m, t]]);
        }
    }
    let expected: serde_json::Value =
        serde_json::from_slice(&read("reference/test-untrained.real_music_a.outputs.json"))
            .unwrap();
    let floats = |key: &str| -> Vec<f32> {
        expected[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect()
    };
    let (mut embedding, mut logits) = (floats("embedding"), floats("instrument"));
    l2_normalize(&mut embedding);
    softmax(&mut logits);

    let model = Model::from_bytes(&test_model()).unwrap();
    let out = model
        .run(&[Patch {
            start_frame: 0,
            data,
        }])
        .unwrap();
    let err_e = max_abs_diff(&out.embeddings[0], &embedding);
    let err_h = max_abs_diff(&out.head_probabilities[0][0], &logits);
    println!("tract vs onnx.reference: embedding {err_e:e}, head {err_h:e}");
    assert!(err_e < 1e-5 && err_h < 1e-5);
}

#[test]
fn wrong_models_are_rejected_with_a_reason() {
    let err = Model::from_bytes(&read("models/test-wrong-nmels.onnx")).unwrap_err();
    assert!(matches!(err, Error::ParamsMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("n_mels 128"), "{err}");
    let err = Model::from_bytes(&read("models/test-no-metadata.onnx")).unwrap_err();
    assert!(err.to_string().contains("no `simsong` metadata"), "{err}");
    let err = Model::from_bytes(&read("models/not-a-model.onnx")).unwrap_err();
    assert!(err.to_string().contains("not an ONNX model"), "{err}");
    let err = Model::from_bytes(&[]).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    // A valid model truncated in the middle.
    let bytes = test_model();
    assert!(Model::from_bytes(&bytes[..bytes.len() / 2]).is_err());
    // Found by fuzzing: a graph output no node produces made tract's graph builder panic.
    // And a Flatten whose axis is beyond its input's rank, which makes tract panic.
    let err = Model::from_bytes(&read("models/fuzz/flatten-axis-panic.onnx")).unwrap_err();
    assert!(
        err.to_string().contains("made the inference engine fail"),
        "{err}"
    );
    let err = Model::from_bytes(&read("models/fuzz/unwired-output.onnx")).unwrap_err();
    assert!(
        err.to_string().contains("not produced by any node"),
        "{err}"
    );
}

#[test]
fn track_embedding_is_the_normalised_mean_of_segment_embeddings() {
    let engine = Engine::from_model_bytes(&test_model()).unwrap();
    let a = engine
        .analyze_bytes(read("audio/real_music_b_16k.wav"), None)
        .unwrap();
    // 6 s: two full 187-frame patches (2.992 s each), tail too short for an end-aligned one.
    assert_eq!(a.segments.len(), 2);
    assert!((a.segments[1].start_seconds - 2.992).abs() < 1e-9);
    let mut mean = vec![0.0f32; 32];
    for s in &a.segments {
        let norm: f32 = s.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        mean.iter_mut().zip(&s.embedding).for_each(|(m, v)| *m += v);
    }
    l2_normalize(&mut mean);
    assert!(max_abs_diff(&mean, &a.embedding) < 1e-6);
    let head = &a.heads[0];
    assert!((head.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    // Different music gives a different embedding, even from an untrained model.
    let b = engine
        .analyze_bytes(read("audio/synth_sine440_16k.wav"), None)
        .unwrap();
    assert!(max_abs_diff(&a.embedding, &b.embedding) > 1e-3);
}
