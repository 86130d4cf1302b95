//! The bad-input matrix of `tests/bad-input/matrix.mjs`, natively, with the shipped model.
//! The same cases run in wasm (`tests/js/bad-input.test.mjs`) and in the page
//! (`tests/e2e/bad-input.test.mjs`): each gives the stated error or a sensible analysis.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use common::cosine;
use regex::Regex;
use serde::Deserialize;
use simsong::Engine;

#[derive(Deserialize)]
struct Case {
    name: String,
    expect: Expect,
}

#[derive(Deserialize)]
struct Expect {
    error: Option<String>,
    /// The error's code (`Error::code`; `a|b`: either).
    code: Option<String>,
    seconds: Option<[f64; 2]>,
    like: Option<(String, f32)>,
}

fn write_matrix() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("simsong-matrix-{}", std::process::id()));
    let root = env!("CARGO_MANIFEST_DIR");
    let status = Command::new("node")
        .arg(format!("{root}/tests/bad-input/write.mjs"))
        .arg(&dir)
        .status()
        .expect("node runs tests/bad-input/write.mjs");
    assert!(status.success());
    dir
}

#[test]
fn bad_input_matrix_natively() {
    let dir = write_matrix();
    let cases: Vec<Case> =
        serde_json::from_slice(&std::fs::read(dir.join("cases.json")).unwrap()).unwrap();
    let model = std::fs::read(format!(
        "{}/models/simsong.onnx",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let engine = Engine::from_model_bytes(&model).unwrap();
    let mut embeddings: HashMap<String, Vec<f32>> = HashMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let path = dir.join(&case.name);
        let result = engine.analyze_path(&path);
        let name = &case.name;
        match (&case.expect.error, result) {
            (Some(pattern), Err(e)) => {
                let message = e.to_string();
                if !Regex::new(pattern).unwrap().is_match(&message) {
                    failures.push(format!(
                        "{name}: error `{message}` does not match /{pattern}/"
                    ));
                }
                let code = case.expect.code.as_deref().unwrap_or_default();
                if !code.split('|').any(|c| c == e.code()) {
                    failures.push(format!("{name}: code {}, expected {code}", e.code()));
                }
            }
            (Some(pattern), Ok(a)) => failures.push(format!(
                "{name}: expected an error /{pattern}/, got {:.2} s analysed",
                a.source.duration_seconds()
            )),
            (None, Err(e)) => failures.push(format!("{name}: unexpected error `{e}`")),
            (None, Ok(a)) => {
                let [lo, hi] = case
                    .expect
                    .seconds
                    .expect("a case expects an error or seconds");
                if !(lo..=hi).contains(&a.source.duration_seconds()) {
                    failures.push(format!(
                        "{name}: {} s, expected {lo}..{hi}",
                        a.source.duration_seconds()
                    ));
                }
                let norm = a.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
                if !a.embedding.iter().all(|v| v.is_finite()) || (norm - 1.0).abs() > 1e-4 {
                    failures.push(format!(
                        "{name}: embedding not finite and unit (norm {norm})"
                    ));
                }
                if let Some((other, least)) = &case.expect.like {
                    let c = cosine(&a.embedding, &embeddings[other]);
                    if c < *least {
                        failures.push(format!(
                            "{name}: cosine {c:.3} to {other}, expected ≥ {least}"
                        ));
                    }
                }
                embeddings.insert(name.clone(), a.embedding);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
