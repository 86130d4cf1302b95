//! Predicted tempi in the index: stored per track, filtered by range and by "similar tempo",
//! alike in a one-file index and a published one, through the CLI.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::process::Command;

use common::{fixture, tmp};

fn simsong(args: &[&str]) -> std::process::Output {
    let o = Command::new(env!("CARGO_BIN_EXE_simsong"))
        .args(args)
        .output()
        .expect("the CLI runs");
    assert!(
        o.status.success(),
        "simsong {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Ids of a `query --json` answer, best first.
fn ids(output: &std::process::Output) -> Vec<String> {
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["track"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn tempo_is_stored_and_filters_both_index_forms_alike() {
    let model = fixture("models/test-untrained.onnx");
    let model = model.to_str().unwrap();
    let audio = fixture("audio");
    // 96 and 144 BPM renders, 119.8 BPM music, and three files without a clear tempo.
    let files = [
        ("bach96", "tempo/bach_bwv79.3_96bpm.ogg"),
        ("bach144", "tempo/bach_bwv116.6_144bpm.ogg"),
        ("music", "real_music_a_44k.ogg"),
        ("noise", "synth_noise_16k.wav"),
        ("sine", "synth_sine440_16k.wav"),
        ("chirp", "synth_chirp_16k.wav"),
    ];
    let rows: Vec<String> = files
        .iter()
        .map(|(id, f)| format!("{id},{}/{f}", audio.display()))
        .collect();
    let manifest = tmp("catalog.csv");
    std::fs::write(&manifest, format!("id,audio\n{}\n", rows.join("\n"))).unwrap();
    let m = manifest.to_str().unwrap();
    let idx = tmp("catalog.idx");
    let published = tmp("catalog");
    simsong(&[
        "index",
        "build",
        "--manifest",
        m,
        "--model",
        model,
        "--out",
        idx.to_str().unwrap(),
    ]);
    simsong(&[
        "index",
        "merge",
        idx.to_str().unwrap(),
        "--out",
        published.to_str().unwrap(),
    ]);

    // Stored: the tempo `simsong tempo` gives, on every track.
    let (e, t) = (tmp("e.npy"), tmp("t.jsonl"));
    simsong(&[
        "index",
        "export",
        idx.to_str().unwrap(),
        "--embeddings",
        e.to_str().unwrap(),
        "--tracks",
        t.to_str().unwrap(),
    ]);
    let tracks: Vec<serde_json::Value> = std::fs::read_to_string(&t)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let bach = fixture("audio/tempo/bach_bwv79.3_96bpm.ogg");
    let cli: serde_json::Value =
        serde_json::from_slice(&simsong(&["tempo", "--json", bach.to_str().unwrap()]).stdout)
            .unwrap();
    assert!(
        (tracks[0]["tempo"]["bpm"].as_f64().unwrap() - cli["candidateBpm"].as_f64().unwrap()).abs()
            < 1e-4
    );
    assert!(tracks.iter().all(|t| t["tempo"]["confidence"].is_number()));

    for index in [idx.to_str().unwrap(), published.to_str().unwrap()] {
        let query = |extra: &[&str]| {
            let mut args = vec![
                "query",
                index,
                "--file",
                bach.to_str().unwrap(),
                "--model",
                model,
                "--json",
                "-k",
                "10",
            ];
            args.extend(extra);
            ids(&simsong(&args))
        };
        // No filter: every track. A range: only the tracks with a clear tempo inside it.
        assert_eq!(query(&[]).len(), 6, "{index}");
        assert_eq!(query(&["--bpm", "90-100"]), ["bach96"], "{index}");
        let mut fast = query(&["--bpm", "110-"]);
        fast.sort();
        assert_eq!(fast, ["bach144", "music"], "{index}");
        assert!(query(&["--bpm", "-60"]).is_empty(), "{index}");
        // Similar tempo to the 96 BPM file: itself only (144 and 120 are not within 8% of
        // 48, 96 or 192).
        assert_eq!(query(&["--similar-tempo"]), ["bach96"], "{index}");
        // By a catalog track: like "bach144" (72/144/288), nothing else but itself, which
        // is left out as the reference.
        let by_id = ids(&simsong(&[
            "query",
            index,
            "--id",
            "bach144",
            "--similar-tempo",
            "--json",
        ]));
        assert!(by_id.is_empty(), "{index}: {by_id:?}");
        // "Outside" inverts the tags only; the tempo range still holds.
        assert_eq!(
            query(&["--outside", "--tag", "x:y", "--bpm", "90-100"]),
            ["bach96"],
            "{index}"
        );
    }

    // A reference without a clear tempo cannot ask for similar tempi; a bad range is refused.
    let idx = idx.to_str().unwrap();
    let e = refused(&["query", idx, "--id", "noise", "--similar-tempo"]);
    assert!(e.contains("track `noise` has no clear tempo"), "{e}");
    let e = refused(&["query", idx, "--id", "noise", "--bpm", "120-90"]);
    assert!(e.contains("reversed"), "{e}");

    // An index whose tempi another estimator computed is refused, in both forms: a dropped
    // file's tempo would be compared with numbers this build does not give its tracks.
    let current = simsong::tempo::ESTIMATOR_VERSION;
    let stale = format!("\"tempoVersion\": {}", current - 1);
    let manifest_path = published.join("index.json");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    let now = format!("\"tempoVersion\": {current}");
    assert!(text.contains(&now), "{text}");
    std::fs::write(&manifest_path, text.replace(&now, &stale)).unwrap();
    let e = refused(&["query", published.to_str().unwrap(), "--id", "bach96"]);
    assert!(
        e.contains(&format!("tempo estimator version {}", current - 1))
            && e.contains("build the index again"),
        "{e}"
    );
    // The one-file loader reassembles through `from_parts`, which checks the header.
    let index = simsong::index::CatalogIndex::from_bytes(&std::fs::read(idx).unwrap()).unwrap();
    let mut header = index.header().clone();
    header.tempo_version = current - 1;
    let e = simsong::index::CatalogIndex::from_parts(
        header,
        index.tracks().to_vec(),
        index.embeddings().clone(),
        index.segments().clone(),
        index.fingerprints().clone(),
        index.versions().clone(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("tempo estimator version"), "{e}");
}

/// Runs the CLI expecting a refusal; returns what it said on stderr.
fn refused(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_simsong"))
        .args(args)
        .output()
        .expect("the CLI runs");
    assert!(!o.status.success(), "simsong {args:?} succeeded");
    String::from_utf8_lossy(&o.stderr).into_owned()
}
