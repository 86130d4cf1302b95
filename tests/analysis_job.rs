//! An analysis run in steps (what the browser's worker does, to show progress and to stop when a
//! newer search supersedes it) gives exactly the one-call analysis, and reports where it is.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{read, test_model};
use simsong::embed::{AnalysisJob, AnalysisStage, StepBudget};
use simsong::{Engine, TrackAnalysis};

/// Steps a job to its end with `budget`, checking its progress reports on the way.
fn run_in_steps(engine: &Engine, mut job: AnalysisJob, budget: StepBudget) -> TrackAnalysis {
    let mut reports = vec![job.progress()];
    let result = loop {
        if let Some(a) = job.step(engine, budget).unwrap() {
            break a;
        }
        reports.push(job.progress());
    };
    assert_eq!(job.progress().stage, AnalysisStage::Done);
    let stages: Vec<_> = reports.iter().map(|p| p.stage).collect();
    let first_analysis = stages
        .iter()
        .position(|s| *s == AnalysisStage::Analysis)
        .expect("an analysis stage");
    assert!(first_analysis > 1, "several decode steps: {stages:?}");
    assert!(
        stages[..first_analysis]
            .iter()
            .all(|s| *s == AnalysisStage::Decode)
    );
    assert!(
        stages[first_analysis..]
            .iter()
            .all(|s| *s == AnalysisStage::Analysis)
    );
    for stage in [AnalysisStage::Decode, AnalysisStage::Analysis] {
        let fractions: Vec<f64> = reports
            .iter()
            .filter(|p| p.stage == stage)
            .map(|p| p.fraction.expect("the length is known"))
            .collect();
        assert!(
            fractions.windows(2).all(|w| w[0] <= w[1])
                && fractions.iter().all(|f| (0.0..=1.0).contains(f)),
            "{stage:?}: {fractions:?}"
        );
    }
    // The last decode report is the end of the input; the first analysis one is 0 patches run.
    let last_decode = reports[first_analysis - 1].fraction.unwrap();
    assert!(
        last_decode > 0.5,
        "decode progress ends near 1, got {last_decode}"
    );
    assert_eq!(reports[first_analysis].fraction, Some(0.0));
    result
}

fn assert_same(a: &TrackAnalysis, b: &TrackAnalysis) {
    assert_eq!(a.embedding, b.embedding, "bit-identical embedding");
    assert_eq!(a.segments, b.segments);
    assert_eq!(a.heads, b.heads);
    assert_eq!(a.source, b.source);
    assert_eq!(a.overview.mel.frames(), b.overview.mel.frames());
}

#[test]
fn a_file_analysed_in_steps_equals_the_one_call_analysis() {
    let engine = Engine::from_model_bytes(&test_model()).unwrap();
    for rel in [
        "audio/real_music_a_44k.mp3",
        "audio/real_music_a_44k.ogg",
        "audio/real_music_a_44k.m4a",
    ] {
        let bytes = read(rel);
        let whole = engine.analyze_bytes(bytes.clone(), None).unwrap();
        let budget = StepBudget {
            audio_seconds: 2.0,
            patches: 1,
        };
        let job = engine
            .start_source(Box::new(std::io::Cursor::new(bytes)), None)
            .unwrap();
        let stepped = run_in_steps(&engine, job, budget);
        assert_same(&whole, &stepped);
    }
}

#[test]
fn pcm_analysed_in_steps_equals_the_one_call_analysis() {
    let engine = Engine::from_model_bytes(&test_model()).unwrap();
    let (mono, info) =
        simsong::audio::decode_mono(read("audio/real_music_b_16k.wav"), None).unwrap();
    let stereo: Vec<f32> = mono.iter().flat_map(|&v| [v, 0.5 * v]).collect();
    let whole = engine.analyze_pcm(&stereo, info.sample_rate_hz, 2).unwrap();
    let job = engine.start_pcm(stereo, info.sample_rate_hz, 2).unwrap();
    let stepped = run_in_steps(
        &engine,
        job,
        StepBudget {
            audio_seconds: 1.5,
            patches: 2,
        },
    );
    assert_same(&whole, &stepped);
}

#[test]
fn a_finished_dropped_or_foreign_job_fails_cleanly() {
    let engine = Engine::from_model_bytes(&test_model()).unwrap();
    let start = || {
        engine
            .start_source(
                Box::new(std::io::Cursor::new(read("audio/real_music_a_44k.mp3"))),
                Some("mp3"),
            )
            .unwrap()
    };
    // Stepping after the result is an error, not a second result.
    let mut job = start();
    while job.step(&engine, StepBudget::UNLIMITED).unwrap().is_none() {}
    let again = job.step(&engine, StepBudget::UNLIMITED).unwrap_err();
    assert!(again.to_string().contains("already finished"), "{again}");

    // Dropped half-way: nothing to wait for, nothing left behind.
    let mut job = start();
    let short = StepBudget {
        audio_seconds: 1.0,
        patches: 1,
    };
    assert!(job.step(&engine, short).unwrap().is_none());
    assert_eq!(job.progress().stage, AnalysisStage::Decode);
    drop(job);

    // Another model may not finish it (its features follow the first model's numbers).
    let shipped =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/simsong.onnx")).unwrap();
    let other = Engine::from_model_bytes(&shipped).unwrap();
    let mut job = start();
    let e = job.step(&other, StepBudget::default()).unwrap_err();
    assert!(e.to_string().contains("another model"), "{e}");
}

#[test]
fn bad_input_fails_in_steps_as_it_does_in_one_call() {
    let engine = Engine::from_model_bytes(&test_model()).unwrap();
    let silence = vec![0.0f32; 16_000 * 5];
    let one_call = engine
        .analyze_pcm(&silence, 16_000, 1)
        .unwrap_err()
        .to_string();
    let mut job = engine.start_pcm(silence, 16_000, 1).unwrap();
    let stepped = loop {
        match job.step(&engine, StepBudget::default()) {
            Ok(None) => continue,
            Ok(Some(_)) => panic!("silence analysed"),
            Err(e) => break e.to_string(),
        }
    };
    assert_eq!(one_call, stepped);
    assert_eq!(job.progress().stage, AnalysisStage::Done);

    let empty = engine
        .start_source(Box::new(std::io::Cursor::new(Vec::new())), Some("mp3"))
        .unwrap_err();
    assert_eq!(
        empty.to_string(),
        engine
            .analyze_bytes(Vec::new(), Some("mp3"))
            .unwrap_err()
            .to_string()
    );
}
