//! Helpers shared by the native integration tests: fixture paths and readers.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod rng;

/// `name` in a scratch folder of this test process (created on first use).
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("simsong-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Reads a float32 .npy written by the librosa reference script.
pub fn npy2(rel: &str) -> ndarray::Array2<f32> {
    ndarray_npy::read_npy(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn test_model() -> Vec<u8> {
    read("models/test-untrained.onnx")
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}
