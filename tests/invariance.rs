//! What a buyer's copy of a track changes must not change what the product hears: gain, lossy
//! re-encoding, sample rate and a trimmed start (front end version 3 normalises each patch's
//! loudness; the shipped model was trained with band-limit and codec augmentation).
//!
//! The copies in `tests/fixtures/audio/invariance/` were made with ffmpeg by
//! `tests/fixtures/make_invariance_fixtures.py` (see its manifest and ATTRIBUTION.md there).

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{cosine, fixture, max_abs_diff, read};
use simsong::embed::Engine;
use simsong::frontend::FrontEnd;
use simsong::params::AnalysisParams;

/// Mono samples of a 16 kHz 16-bit WAV fixture, full scale ±1.
fn wav_samples(rel: &str) -> Vec<f32> {
    let bytes = read(rel);
    // canonical 44-byte header written by the fixture scripts
    bytes[44..]
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect()
}

#[test]
fn model_inputs_do_not_move_with_gain() {
    let front = FrontEnd::new(AnalysisParams::CURRENT).unwrap();
    let y = wav_samples("audio/real_music_a_16k.wav");
    let base = front.features_from_pcm(&y, 16_000, 1).unwrap();
    for db in [-20.0f32, -6.0, 6.0] {
        let g = 10f32.powf(db / 20.0);
        let scaled: Vec<f32> = y.iter().map(|v| v * g).collect();
        let f = front.features_from_pcm(&scaled, 16_000, 1).unwrap();
        assert_eq!(f.patches.len(), base.patches.len());
        for (a, b) in base.patches.iter().zip(&f.patches) {
            let d = max_abs_diff(&a.data, &b.data);
            assert!(d < 2e-3, "{db} dB moved a patch value by {d}");
        }
        // the display overview shows the recording as it is: quieter stays quieter
        let mean = |f: &simsong::frontend::Features| {
            let v = f.overview.mel.frames();
            v.iter().sum::<f32>() / v.len() as f32
        };
        if db < 0.0 {
            assert!(mean(&f) < mean(&base));
        }
    }
}

#[derive(serde::Deserialize)]
struct Manifest {
    tracks: Vec<Track>,
    /// Other fixture files ranked against the copies too (more candidates to confuse).
    distractors: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Track {
    original: String,
    copies: std::collections::BTreeMap<String, String>,
}

/// Every copy's nearest neighbour among all originals and distractors is its own original,
/// with the shipped model, and stays close to it.
#[test]
fn copies_find_their_original_with_the_shipped_model() {
    let model = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/simsong.onnx")).unwrap();
    let engine = Engine::from_model_bytes(&model).unwrap();
    let dir = "audio/invariance";
    let manifest: Manifest =
        serde_json::from_slice(&read(&format!("{dir}/manifest.json"))).unwrap();
    let embed = |rel: &str| {
        engine
            .analyze_path(&fixture(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .embedding
    };
    let originals: Vec<Vec<f32>> = manifest
        .tracks
        .iter()
        .map(|t| embed(&format!("{dir}/{}", t.original)))
        .chain(manifest.distractors.iter().map(|d| embed(d)))
        .collect();
    let (mut copies, mut hits, mut worst) = (0, 0, (1.0f32, String::new()));
    for (i, track) in manifest.tracks.iter().enumerate() {
        for (what, file) in &track.copies {
            let e = embed(&format!("{dir}/{file}"));
            let sims: Vec<f32> = originals.iter().map(|o| cosine(o, &e)).collect();
            let best = (0..sims.len())
                .max_by(|&a, &b| sims[a].total_cmp(&sims[b]))
                .unwrap();
            copies += 1;
            hits += usize::from(best == i);
            assert_eq!(
                best, i,
                "{file} ({what}) is nearest to candidate {best} (cos {:.4}), not its original (cos {:.4})",
                sims[best], sims[i]
            );
            if sims[i] < worst.0 {
                worst = (sims[i], file.clone());
            }
        }
    }
    assert!(copies >= 40, "only {copies} copies in the fixture set");
    assert_eq!(hits, copies);
    // closeness: the least similar copy is still far nearer its original than other tracks are
    assert!(
        worst.0 > 0.9,
        "{} has cosine {} with its original",
        worst.1,
        worst.0
    );
}
