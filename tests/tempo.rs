//! Tempo from the front end: committed renders at known tempi, click tracks, a tempo change,
//! and the inputs that must give "no clear tempo" rather than a confident wrong number.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::fixture;
use common::rng::Rng;
use simsong::AnalysisParams;
use simsong::frontend::FrontEnd;
use simsong::tempo::TempoEstimate;

const RATE: u32 = 44_100;

fn front() -> FrontEnd {
    FrontEnd::new(AnalysisParams::CURRENT).unwrap()
}

fn tempo_of_pcm(mono: &[f32]) -> TempoEstimate {
    front().features_from_pcm(mono, RATE, 1).unwrap().tempo
}

/// A decaying 1.5 kHz click at each of `beats` (seconds), `seconds` long.
fn clicks_at(beats: impl IntoIterator<Item = f64>, seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(RATE)) as usize;
    let mut y = vec![0.0f32; n];
    for t in beats {
        let start = (t * f64::from(RATE)).round() as usize;
        for i in 0..(RATE as usize / 50).min(n.saturating_sub(start)) {
            let s = i as f64 / f64::from(RATE);
            y[start + i] +=
                (0.8 * (2.0 * std::f64::consts::PI * 1500.0 * s).sin() * (-s * 300.0).exp()) as f32;
        }
    }
    y
}

fn steady_clicks(bpm: f64, seconds: f64) -> Vec<f32> {
    let n = (seconds * bpm / 60.0) as usize;
    clicks_at((0..n).map(|k| k as f64 * 60.0 / bpm), seconds)
}

fn within(estimate: f32, truth: f64, tolerance: f64) -> bool {
    (f64::from(estimate) / truth - 1.0).abs() <= tolerance
}

#[test]
fn committed_renders_give_their_tempo() {
    // Bach chorales rendered at one steady tempo (tests/fixtures/make_tempo_fixtures.py).
    for (name, bpm) in [
        ("bach_bwv79.3_96bpm.ogg", 96.0),
        ("bach_bwv116.6_144bpm.ogg", 144.0),
    ] {
        let t = front()
            .features_from_path(&fixture(&format!("audio/tempo/{name}")))
            .unwrap()
            .tempo;
        assert!(t.is_clear(), "{name}: {t:?}");
        assert!(within(t.bpm, bpm, 0.04), "{name}: {} BPM, not {bpm}", t.bpm);
        assert!(t.sections.is_empty(), "{name}: {:?}", t.sections);
    }
}

#[test]
fn click_tracks_give_their_tempo_at_any_gain() {
    for bpm in [72.0, 90.0, 118.0, 140.0] {
        let clicks = steady_clicks(bpm, 20.0);
        let t = tempo_of_pcm(&clicks);
        assert!(t.is_clear() && t.confidence > 0.5, "{bpm}: {t:?}");
        assert!(within(t.bpm, bpm, 0.02), "{bpm}: {}", t.bpm);
        let quiet: Vec<f32> = clicks.iter().map(|v| v * 0.1).collect();
        let q = tempo_of_pcm(&quiet);
        assert!((q.bpm - t.bpm).abs() < 0.5 && (q.confidence - t.confidence).abs() < 0.05);
    }
}

#[test]
fn a_tempo_change_is_found_where_it_happens() {
    let mut track = steady_clicks(90.0, 30.0);
    track.extend(steady_clicks(140.0, 30.0));
    let t = tempo_of_pcm(&track);
    assert_eq!(t.sections.len(), 2, "{t:?}");
    assert!(within(t.sections[0].bpm, 90.0, 0.03), "{:?}", t.sections);
    assert!(within(t.sections[1].bpm, 140.0, 0.03), "{:?}", t.sections);
    assert!(
        (t.sections[0].end_seconds - 30.0).abs() < 6.0,
        "{:?}",
        t.sections
    );
}

/// Onset times at random gaps of `shortest..longest` seconds: onsets, but no beat.
fn free_time(rng: &mut Rng, seconds: f64, shortest: f64, longest: f64) -> Vec<f64> {
    let mut t = 0.0;
    let mut onsets = Vec::new();
    while t < seconds - 0.5 {
        onsets.push(t);
        t += shortest + (longest - shortest) * f64::from(rng.next_f32());
    }
    onsets
}

/// Decaying notes of random pitch (two harmonics, 110–880 Hz) at `onsets`: rubato playing.
fn notes_at(rng: &mut Rng, onsets: &[f64], seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(RATE)) as usize;
    let mut y = vec![0.0f32; n];
    for &t in onsets {
        let f = 110.0 * 2f64.powf(f64::from((rng.next_f32() * 36.0).floor()) / 12.0);
        let start = (t * f64::from(RATE)) as usize;
        for i in 0..(3 * RATE as usize / 2).min(n - start) {
            let s = i as f64 / f64::from(RATE);
            let w = 2.0 * std::f64::consts::PI * f * s;
            y[start + i] += (0.2 * (w.sin() + 0.3 * (2.0 * w).sin()) * (-3.0 * s).exp()) as f32;
        }
    }
    y
}

#[test]
fn noise_free_time_a_held_chord_and_short_clips_have_no_clear_tempo() {
    let mut rng = Rng(7);
    let mut inputs: Vec<(String, Vec<f32>)> = Vec::new();
    let white: Vec<f32> = (0..RATE as usize * 20)
        .map(|_| 0.2 * (rng.next_f32() - 0.5))
        .collect();
    // Brown noise (integrated white, its drift removed): slow swells, no onsets.
    let mut level = 0.0f32;
    let brown: Vec<f32> = white
        .iter()
        .map(|w| {
            level = 0.999 * level + w;
            0.05 * level
        })
        .collect();
    inputs.push(("white noise".into(), white));
    inputs.push(("brown noise".into(), brown));
    // Free time: clicks and decaying notes at random gaps, sparse and dense, 20–60 s. One lag
    // lines up by chance now and then; the comb of four multiples does not.
    for (k, (shortest, longest, seconds)) in [
        (0.3, 1.2, 20.0),
        (0.15, 0.6, 20.0),
        (0.5, 2.0, 30.0),
        (0.2, 1.0, 60.0),
        (0.3, 1.2, 30.0),
        (0.15, 0.6, 60.0),
    ]
    .into_iter()
    .enumerate()
    {
        let onsets = free_time(&mut rng, seconds, shortest, longest);
        inputs.push((format!("free-time clicks {k}"), clicks_at(onsets, seconds)));
        let onsets = free_time(&mut rng, seconds, 0.2, 1.5);
        let notes = notes_at(&mut rng, &onsets, seconds);
        inputs.push((format!("free-time notes {k}"), notes));
    }
    // A chord swelling slowly: the STFT's ripple on steady sines is periodic but is no onset.
    let chord: Vec<f32> = (0..RATE as usize * 20)
        .map(|i| {
            let s = i as f64 / f64::from(RATE);
            let swell = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 0.07 * s).sin();
            let tone: f64 = [220.0, 277.2, 329.6]
                .iter()
                .map(|f| (2.0 * std::f64::consts::PI * f * s).sin())
                .sum();
            (0.2 * swell * tone) as f32
        })
        .collect();
    inputs.push(("held chord".into(), chord));
    for (what, pcm) in inputs {
        let t = tempo_of_pcm(&pcm);
        assert!(!t.is_clear(), "{what}: {t:?}");
        assert!(
            t.confidence < simsong::tempo::MIN_CONFIDENCE,
            "{what}: {t:?}"
        );
        assert_eq!(t.clear_bpm(), None);
    }
    // Too short to count beats: a 3 s click track.
    assert_eq!(
        tempo_of_pcm(&steady_clicks(120.0, 3.0)),
        TempoEstimate::none()
    );
    // Silence is refused by the front end before any tempo is claimed.
    let silent = front().features_from_path(&fixture("audio/bad/silence_16k.wav"));
    assert!(matches!(silent, Err(simsong::Error::Silent { .. })));
}
