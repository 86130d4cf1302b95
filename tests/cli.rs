//! The `simsong` command-line tool, run as a user would.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

mod common;

use std::process::Command;

use common::{fixture, read, tmp};

fn simsong(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_simsong"))
        .args(args)
        .output()
        .expect("run simsong")
}

#[test]
fn embed_writes_csv_with_header_and_one_normalised_row_per_input() {
    let model = fixture("models/test-untrained.onnx");
    let files = [
        fixture("audio/real_music_a_44k.mp3"),
        fixture("audio/real_music_b_16k.wav"),
    ];
    let out = tmp("emb.csv");
    let o = simsong(&[
        "embed",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("untrained test fixture"));
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header.len(), 33);
    assert_eq!((header[0], header[1], header[32]), ("path", "e0", "e31"));
    assert_eq!(lines.len(), 3);
    for (line, file) in lines[1..].iter().zip(&files) {
        let mut fields = line.split(',');
        assert_eq!(
            fields.next().unwrap(),
            file.to_str().unwrap(),
            "the path as given"
        );
        let v: Vec<f32> = fields.map(|x| x.parse().unwrap()).collect();
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
}

#[test]
fn embed_npy_and_unreadable_inputs() {
    let model = fixture("models/test-untrained.onnx");
    let out = tmp("emb.npy");
    let segments = tmp("emb-segments.npy");
    let good = fixture("audio/real_music_a_44k.ogg");
    let bad = fixture("audio/bad/text.mp3");
    let o = simsong(&[
        "embed",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--segments",
        segments.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "a failed input sets exit code 2");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("text.mp3: unsupported or unrecognised audio format"),
        "{stderr}"
    );
    let array: ndarray::Array2<f32> = ndarray_npy::read_npy(&out).unwrap();
    assert_eq!(array.shape(), &[1, 32]);
    let paths = std::fs::read_to_string(format!("{}.paths.txt", out.display())).unwrap();
    assert_eq!(paths.trim(), good.to_str().unwrap());
    // The segments of the one file embedded: two 3 s patches, whose normalised mean is the
    // track's embedding.
    let segs: ndarray::Array2<f32> = ndarray_npy::read_npy(&segments).unwrap();
    assert_eq!(segs.shape(), &[2, 32]);
    let index = std::fs::read_to_string(segments.with_extension("csv")).unwrap();
    let rows: Vec<&str> = index.lines().collect();
    assert_eq!(rows[0], "row,start_seconds");
    assert!(
        rows[1].starts_with("0,0") && rows[2].starts_with("0,2.99"),
        "{index}"
    );
    let mut mean = segs.sum_axis(ndarray::Axis(0));
    let norm = mean.dot(&mean).sqrt();
    mean /= norm;
    let track = array.row(0);
    assert!(mean.iter().zip(track).all(|(a, b)| (a - b).abs() < 1e-5));
}

#[test]
fn features_exports_patches_as_npy_with_an_index() {
    let dir = tmp("features");
    let input = fixture("audio/real_music_a_44k.flac");
    let o = simsong(&[
        "features",
        input.to_str().unwrap(),
        "--out-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let patches: ndarray::Array3<f32> = ndarray_npy::read_npy(dir.join("00000.npy")).unwrap();
    assert_eq!(patches.shape(), &[2, 96, 187]);
    assert!(patches.iter().all(|v| v.is_finite() && *v >= 0.0));
    let index = std::fs::read_to_string(dir.join("index.csv")).unwrap();
    let row = index.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&format!(
            "{},00000.npy,2,6.000,0.000;2.992",
            input.display()
        )),
        "{row}"
    );
}

#[test]
fn the_shipped_model_is_built_in_and_named_by_version() {
    // From a folder with no models/ in it, without --model: the built-in model is used, and it
    // is the file in the repository (same hash).
    let dir = tmp("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    let shipped =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/simsong.onnx")).unwrap();
    let shipped_sha = simsong::Engine::from_model_bytes(&shipped)
        .unwrap()
        .model_sha256()
        .to_string();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_simsong"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("run simsong")
    };
    let info = run(&["model-info"]);
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains(&format!("sha256: {shipped_sha}")), "{info}");
    let input = fixture("audio/real_music_b_16k.wav");
    let out = dir.join("emb.csv");
    let o = run(&[
        "embed",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("untrained"),
        "the shipped model is the trained one"
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().count(), 2);

    let v = run(&["--version"]);
    assert!(v.status.success());
    let v = String::from_utf8_lossy(&v.stdout);
    let meta = simsong::Engine::from_model_bytes(&shipped)
        .unwrap()
        .model_metadata()
        .clone();
    assert!(v.contains(env!("CARGO_PKG_VERSION")), "{v}");
    assert!(v.contains(&meta.name), "{v}");
    assert!(v.contains(&shipped_sha[..12]), "{v}");
    let p = simsong::AnalysisParams::CURRENT;
    assert!(
        v.contains(&format!("{} Hz, n_fft {}", p.sample_rate_hz, p.n_fft)),
        "{v}"
    );
    assert!(
        v.contains(&format!("version {}", simsong::params::FRONTEND_VERSION)),
        "{v}"
    );
}

#[test]
fn a_missing_or_wrong_model_is_a_clear_error() {
    let input = fixture("audio/real_music_b_16k.wav");
    let o = simsong(&[
        "embed",
        input.to_str().unwrap(),
        "--model",
        "/nonexistent.onnx",
        "--out",
        "/tmp/x.csv",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read model /nonexistent.onnx"));
    let wrong = fixture("models/test-wrong-nmels.onnx");
    let o = simsong(&["model-info", "--model", wrong.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("different analysis numbers"));
}

#[test]
fn index_build_add_remove_info_and_query() {
    let model = fixture("models/test-untrained.onnx");
    let model = model.to_str().unwrap();
    let audio = fixture("audio");
    let manifest = tmp("catalog.tsv");
    std::fs::write(
        &manifest,
        format!(
            "id\taudio\ttitle\tcollection\ttags\n\
             a\t{0}/real_music_a_44k.ogg\tMenu\tamoebax\tgenre:game; mood:upbeat\n\
             b\t{0}/real_music_b_16k.wav\tTheme\tlugaru\tgenre:game;mood:calm\n\
             bad\t{0}/bad/text.mp3\tNot audio\tx\t\n",
            audio.display()
        ),
    )
    .unwrap();
    let idx = tmp("catalog.idx");
    let idx_s = idx.to_str().unwrap();
    let o = simsong(&[
        "index",
        "build",
        "--manifest",
        manifest.to_str().unwrap(),
        "--model",
        model,
        "--out",
        idx_s,
    ]);
    // One unreadable file: reported, exit code 2, the others indexed.
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("text.mp3: unsupported"), "{err}");
    let info = |idx: &str| {
        let o = simsong(&["index", "info", idx, "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let i = info(idx_s);
    assert_eq!(i["tracks"], 2);
    assert_eq!(i["tags"]["mood"]["calm"], 1);
    assert_eq!(i["header"]["modelName"], "test-untrained");

    let chirp = fixture("audio/synth_chirp_16k.wav");
    let o = simsong(&[
        "index",
        "add",
        idx_s,
        "--folder",
        chirp.parent().unwrap().join("bad").to_str().unwrap(),
        "--model",
        model,
    ]);
    assert_eq!(o.status.code(), Some(2), "bad/ holds unreadable files");
    let added = info(idx_s)["tracks"].as_u64().unwrap();
    assert!(added > 2, "the readable files of bad/ were added");

    let o = simsong(&[
        "query",
        idx_s,
        "--id",
        "a",
        "-k",
        "1",
        "--tag",
        "mood:calm",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hits: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(hits[0]["hit"]["id"], "b");
    assert_eq!(hits[0]["track"]["title"], "Theme");

    let o = simsong(&[
        "query",
        idx_s,
        "--file",
        fixture("audio/real_music_b_16k.wav").to_str().unwrap(),
        "--model",
        model,
        "-k",
        "1",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hits: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(hits[0]["hit"]["id"], "b");

    let o = simsong(&["index", "remove", idx_s, "b"]);
    assert!(o.status.success());
    assert_eq!(info(idx_s)["tracks"].as_u64().unwrap(), added - 1);
    let o = simsong(&["query", idx_s, "--id", "b"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no track with id `b`"));
}

#[test]
fn a_damaged_index_is_refused_by_the_cli() {
    let idx = tmp("damaged.idx");
    std::fs::write(&idx, b"SIMSIDX\x1a\x01\x00\x00\x00").unwrap();
    let o = simsong(&["index", "info", idx.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("truncated"));
}

#[test]
fn mel_writes_a_png_of_the_spectrogram() {
    let png = tmp("mel.png");
    let o = simsong(&[
        "mel",
        fixture("audio/real_music_a_44k.flac").to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width = one column per frame (6 s → 376 frames), height = 96 bands × 2 px.
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (376, 192));
}

#[test]
fn json_manifests_take_tags_as_text_or_object_and_paths_relative_to_the_manifest() {
    let dir = tmp("json-manifest");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("audio/synth_chirp_16k.wav"), dir.join("chirp.wav")).unwrap();
    let manifest = dir.join("catalog.json");
    std::fs::write(
        &manifest,
        r#"[
          {"id": "c1", "audio": "chirp.wav", "title": "Chirp", "tags": {"mood": ["tense", "dark"]},
           "preview_url": "previews/c1.mp3", "license": "CC0-1.0"},
          {"id": "s1", "audio": "SINE", "tags": "mood:calm; genre:test", "composer": "Nobody"}
        ]"#
        .replace(
            "SINE",
            fixture("audio/synth_sine440_16k.wav").to_str().unwrap(),
        )
        .as_str(),
    )
    .unwrap();
    let idx = dir.join("c.idx");
    let o = simsong(&[
        "index",
        "build",
        "--manifest",
        manifest.to_str().unwrap(),
        "--model",
        fixture("models/test-untrained.onnx").to_str().unwrap(),
        "--out",
        idx.to_str().unwrap(),
        "--precision",
        "int8",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = simsong(&["query", idx.to_str().unwrap(), "--id", "c1", "--json"]);
    let hits: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let track = &hits[0]["track"];
    assert_eq!(track["id"], "s1");
    assert_eq!(
        track["title"], "synth_sine440_16k",
        "title defaults to the file name"
    );
    assert_eq!(track["composer"], "Nobody");
    assert_eq!(track["tags"]["genre"][0], "test");
    let o = simsong(&["index", "info", idx.to_str().unwrap(), "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["precision"], "Int8");
    assert_eq!(info["tags"]["mood"]["dark"], 1);
}

#[test]
fn published_index_from_shards_equals_one_machine_and_takes_deltas() {
    let model = fixture("models/test-untrained.onnx");
    let model = model.to_str().unwrap();
    let audio = fixture("audio");
    let manifest = tmp("pub-catalog.csv");
    let files = [
        "real_music_a_44k.ogg",
        "real_music_b_16k.wav",
        "synth_chirp_16k.wav",
        "synth_noise_16k.wav",
        "synth_sine440_16k.wav",
    ];
    let rows: Vec<String> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "t{i},{}/{f},Track {i},c{},mood:m{}",
                audio.display(),
                i % 2,
                i % 3
            )
        })
        .collect();
    std::fs::write(
        &manifest,
        format!("id,audio,title,collection,tags\n{}\n", rows.join("\n")),
    )
    .unwrap();
    let m = manifest.to_str().unwrap();
    let run = |args: &[&str]| {
        let o = simsong(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    };
    // One machine, and three shards merged: the same parts, byte for byte.
    let whole = tmp("pub-whole");
    run(&[
        "index",
        "build",
        "--manifest",
        m,
        "--model",
        model,
        "--out",
        whole.to_str().unwrap(),
    ]);
    let shards: Vec<String> = (0..3)
        .map(|i| {
            let out = tmp(&format!("pub-shard-{i}.idx"));
            let o = run(&[
                "index",
                "build",
                "--manifest",
                m,
                "--model",
                model,
                "--shard",
                &format!("{i}/3"),
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("shard {i}/3")));
            out.to_str().unwrap().to_string()
        })
        .collect();
    let merged = tmp("pub-merged");
    let mut args = vec!["index", "merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    run(&args);
    let listing = |dir: &std::path::Path| {
        let mut names: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("parts"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(listing(&whole), listing(&merged));
    assert_eq!(
        std::fs::read(whole.join("index.json")).unwrap(),
        std::fs::read(merged.join("index.json")).unwrap()
    );
    // A shard of another model is refused by merge.
    let other = tmp("pub-other.idx");
    let o = simsong(&[
        "index",
        "build",
        "--manifest",
        m,
        "--model",
        fixture("models/test-wrong-nmels.onnx").to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(!o.status.success());

    // Query the published index like the one-file one.
    let dir = whole.to_str().unwrap();
    let q =
        |args: &[&str]| -> serde_json::Value { serde_json::from_slice(&run(args).stdout).unwrap() };
    let hits = q(&["query", dir, "--id", "t0", "-k", "4", "--json"]);
    assert_eq!(hits.as_array().unwrap().len(), 4);
    assert!(
        hits.as_array()
            .unwrap()
            .iter()
            .all(|h| h["hit"]["id"] != "t0")
    );
    let hits = q(&[
        "query",
        dir,
        "--file",
        fixture("audio/real_music_b_16k.wav").to_str().unwrap(),
        "--model",
        model,
        "-k",
        "1",
        "--json",
    ]);
    assert_eq!(hits[0]["hit"]["id"], "t1");
    assert_eq!(hits[0]["track"]["title"], "Track 1");

    // Deltas: add (from audio, and from a one-file index), remove; parts already published stay.
    let before = listing(&whole);
    let extra = tmp("pub-extra.csv");
    std::fs::write(
        &extra,
        format!(
            "id,audio,title\nx1,{}/real_music_a_44k.mp3,Extra\nt2,{}/synth_clicks_16k.wav,Dup\n",
            audio.display(),
            audio.display()
        ),
    )
    .unwrap();
    let o = simsong(&[
        "index",
        "add",
        dir,
        "--manifest",
        extra.to_str().unwrap(),
        "--model",
        model,
    ]);
    assert_eq!(o.status.code(), Some(2), "t2 is already in the index");
    assert!(String::from_utf8_lossy(&o.stderr).contains("track id `t2` is already in the index"));
    let after = listing(&whole);
    for part in &before {
        assert!(after.contains(part), "{} was rewritten", part.0);
    }
    let info = |d: &str| -> serde_json::Value {
        serde_json::from_slice(&run(&["index", "info", d, "--json"]).stdout).unwrap()
    };
    assert_eq!(info(dir)["tracks"], 6);
    assert_eq!(
        info(dir)["manifest"]["generations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let hits = q(&["query", dir, "--id", "t0", "-k", "1", "--json"]);
    assert_eq!(
        hits[0]["hit"]["id"], "x1",
        "the same music, added by the delta, ranks first"
    );
    run(&["index", "remove", dir, "x1", "t4"]);
    assert_eq!(info(dir)["tracks"], 4);
    let o = simsong(&["query", dir, "--id", "t4"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no track with id `t4`"));
    let o = simsong(&["index", "add", dir, "--from", &shards[2]]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("track id `t3` is already in the index"));
    assert_eq!(info(dir)["tracks"], 4, "a refused delta changes nothing");
    // Rebuild: one generation again, the removed tracks gone.
    run(&["index", "rebuild-codes", dir]);
    let i = info(dir);
    assert_eq!(i["tracks"], 4);
    assert_eq!(i["manifest"]["generations"].as_array().unwrap().len(), 1);
}

/// 16-bit PCM mono WAV bytes of `samples` (full scale ±1) at `rate` Hz.
fn wav_bytes(samples: &[f32], rate: u32) -> Vec<u8> {
    let data = samples.len() as u32 * 2;
    let mut out = Vec::with_capacity(44 + data as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes());
    }
    out
}

#[test]
fn query_by_a_part_of_a_song() {
    let model = fixture("models/test-untrained.onnx");
    let model = model.to_str().unwrap();
    let audio = fixture("audio");
    let manifest = tmp("part-catalog.tsv");
    std::fs::write(
        &manifest,
        format!(
            "id\taudio\ttitle\tcollection\ttags\n\
             a\t{0}/real_music_a_16k.wav\tMenu\tamoebax\t\n\
             b\t{0}/real_music_b_16k.wav\tTheme\tlugaru\t\n\
             s\t{0}/synth_sine440_16k.wav\tSine\tsynth\t\n\
             n\t{0}/synth_noise_16k.wav\tNoise\tsynth\t\n",
            audio.display()
        ),
    )
    .unwrap();
    let idx = tmp("part-catalog.idx");
    let idx_s = idx.to_str().unwrap();
    let o = simsong(&[
        "index",
        "build",
        "--manifest",
        manifest.to_str().unwrap(),
        "--model",
        model,
        "--out",
        idx_s,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // A medley: 6 s of track a, then 6 s of track b (both 16 kHz mono).
    let decode = |name: &str| {
        simsong::audio::decode_mono(read(&format!("audio/{name}")), Some("wav")).unwrap()
    };
    let (mut medley, info) = decode("real_music_a_16k.wav");
    assert_eq!(info.sample_rate_hz, 16000);
    let a_seconds = medley.len() as f64 / 16000.0;
    medley.extend(decode("real_music_b_16k.wav").0);
    let medley_path = tmp("medley.wav");
    std::fs::write(&medley_path, wav_bytes(&medley, 16000)).unwrap();
    let medley_s = medley_path.to_str().unwrap();

    let top = |extra: &[&str]| {
        let mut args = vec![
            "query", idx_s, "--file", medley_s, "--model", model, "-k", "1", "--json",
        ];
        args.extend_from_slice(extra);
        let o = simsong(&args);
        assert!(
            o.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let hits: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            hits[0]["hit"]["id"].as_str().unwrap().to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let a_end = format!("{a_seconds}");
    let (first, said) = top(&["--from", "0:00", "--to", &a_end]);
    assert_eq!(first, "a", "the first part is track a");
    assert!(
        said.contains("searching by 2 segments"), /* 3 s patches, 3 s apart */
        "{said}"
    );
    let (second, _) = top(&["--from", &a_end]);
    assert_eq!(second, "b", "the second part is track b");

    // Refused: a part after the end, a reversed part, a part of two files.
    let o = simsong(&[
        "query", idx_s, "--file", medley_s, "--model", model, "--from", "1:00",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("after its end"));
    let o = simsong(&[
        "query", idx_s, "--file", medley_s, "--model", model, "--from", "0:05", "--to", "0:02",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("before it starts"));
    let o = simsong(&[
        "query", idx_s, "--file", medley_s, "--file", medley_s, "--model", model, "--to", "0:02",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("exactly one --file"));
    let o = simsong(&[
        "query", idx_s, "--file", medley_s, "--model", model, "--from", "1:75",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("below 60"));
}

#[test]
fn compare_says_whether_one_file_is_in_the_other() {
    let wav = fixture("audio/real_music_a_44k.wav");
    let mp3 = fixture("audio/real_music_a_44k.mp3");
    let other = fixture("audio/real_music_b_16k.wav");
    let o = simsong(&[
        "compare",
        wav.to_str().unwrap(),
        mp3.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], true, "{v}");
    assert!(v["coverage"].as_f64().unwrap() > 0.8, "{v}");
    assert!(
        (v["tempo_ratio"].as_f64().unwrap() - 1.0).abs() < 0.01,
        "{v}"
    );
    let o = simsong(&["compare", wav.to_str().unwrap(), other.to_str().unwrap()]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("is not a version of"), "{text}");

    // Many pairs from a CSV (paths relative to it), extra columns copied, a bad file named.
    let dir = tmp("compare-pairs");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, from) in [("a.wav", &wav), ("a.mp3", &mp3), ("b.wav", &other)] {
        std::fs::copy(from, dir.join(name)).unwrap();
    }
    std::fs::write(dir.join("broken.mp3"), b"not audio").unwrap();
    let csv = dir.join("pairs.csv");
    std::fs::write(
        &csv,
        "a,b,kind\na.wav,a.mp3,codec\na.wav,b.wav,other\na.wav,broken.mp3,bad\n",
    )
    .unwrap();
    let o = simsong(&["compare", "--pairs", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (rows[0]["kind"].as_str(), rows[0]["version"].as_bool()),
        (Some("codec"), Some(true))
    );
    assert_eq!(rows[1]["version"], false);
    assert!(
        rows[2]["error"].as_str().unwrap().contains("broken.mp3"),
        "{}",
        rows[2]
    );
    // Two files, no more, no less.
    let o = simsong(&["compare", wav.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("give two audio files"));
}

/// The version audit of a small catalog with planted versions of one song: its re-encoding, a
/// quieter copy and a cut-down are found and grouped; a declared version the audio does not
/// confirm is listed as such; `check` names the song an upload is a version of; a sharded
/// build and `index add` give the groups of a one-machine build.
#[test]
fn versions_are_grouped_listed_and_checked() {
    let audio = fixture("audio");
    let dir = tmp("versions-catalog");
    std::fs::create_dir_all(&dir).unwrap();
    let (song, info) = simsong::audio::decode_mono(
        std::fs::read(audio.join("real_music_a_44k.wav")).unwrap(),
        Some("wav"),
    )
    .unwrap();
    let rate = info.sample_rate_hz;
    let at = |s: f32| (s * rate as f32) as usize;
    let quiet: Vec<f32> = song.iter().map(|x| x * 0.25).collect();
    std::fs::write(dir.join("quiet.wav"), wav_bytes(&quiet, rate)).unwrap();
    std::fs::write(
        dir.join("cut.wav"),
        wav_bytes(&song[at(1.0)..at(5.0)], rate),
    )
    .unwrap();
    // An upload: another cut, starting a third of a frame later than any catalog copy.
    let upload = dir.join("upload.wav");
    std::fs::write(&upload, wav_bytes(&song[at(0.505)..at(4.5)], rate)).unwrap();
    let rows = [
        (
            "song",
            format!("{}/real_music_a_44k.wav", audio.display()),
            "",
        ),
        (
            "song-mp3",
            format!("{}/real_music_a_44k.mp3", audio.display()),
            "",
        ),
        (
            "song-quiet",
            dir.join("quiet.wav").display().to_string(),
            "",
        ),
        (
            "other",
            format!("{}/real_music_b_16k.wav", audio.display()),
            "",
        ),
        (
            "chirp",
            format!("{}/synth_chirp_16k.wav", audio.display()),
            "noise",
        ),
        (
            "noise",
            format!("{}/synth_noise_16k.wav", audio.display()),
            "",
        ),
        ("song-cut", dir.join("cut.wav").display().to_string(), ""),
    ];
    let manifest = |name: &str, rows: &[(&str, String, &str)]| {
        let path = dir.join(name);
        let mut text = String::from("id,audio,version_of\n");
        for (id, file, of) in rows {
            text += &format!("{id},{file},{of}\n");
        }
        std::fs::write(&path, text).unwrap();
        path
    };
    let all = manifest("all.csv", &rows);
    let build = |manifest: &std::path::Path, out: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "index",
            "build",
            "--manifest",
            manifest.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = simsong(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let versions = |idx: &std::path::Path| -> serde_json::Value {
        let o = simsong(&["index", "versions", idx.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let one = dir.join("one.idx");
    let log = build(&all, &one, &[]);
    assert!(
        log.contains("versions: ") && log.contains("7 of 7 tracks fingerprinted"),
        "{log}"
    );
    let v = versions(&one);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{v}");
    let members = |g: &serde_json::Value| -> Vec<String> {
        let mut m: Vec<String> = g["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        m.sort();
        m
    };
    assert_eq!(
        members(&groups[0]),
        ["song", "song-cut", "song-mp3", "song-quiet"],
        "{v}"
    );
    // The cut-down lies 1–5 s into the song, at its tempo and pitch.
    let cut = groups[0]["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["part"] == "song-cut")
        .expect("the cut-down is linked");
    let span = cut["wholeSpan"].as_array().unwrap();
    assert!((span[0].as_f64().unwrap() - 1.0).abs() < 0.5, "{cut}");
    assert!(
        (cut["tempoRatio"].as_f64().unwrap() - 1.0).abs() < 0.01,
        "{cut}"
    );
    assert_eq!(cut["source"], "detected");
    // Declared but not in the audio: kept, and said so.
    assert_eq!(members(&groups[1]), ["chirp", "noise"], "{v}");
    assert_eq!(groups[1]["links"][0]["source"], "declared");
    let o = simsong(&["index", "versions", one.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("4 versions of song") && text.contains("the audit did not confirm it"),
        "{text}"
    );

    // Uploads: a version of the song, something else, and a file that is not audio.
    let bad = audio.join("bad/text.mp3");
    let noise = audio.join("synth_sine440_16k.wav");
    let o = simsong(&[
        "check",
        one.to_str().unwrap(),
        upload.to_str().unwrap(),
        noise.to_str().unwrap(),
        bad.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let answers: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0]["isVersion"], true, "{}", answers[0]);
    let best = &answers[0]["versions"][0];
    assert!(best["id"].as_str().unwrap().starts_with("song"), "{best}");
    assert!(best["score"].as_f64().unwrap() > 0.3, "{best}");
    assert_eq!(answers[1]["isVersion"], false, "{}", answers[1]);
    assert!(answers[2]["error"].as_str().is_some(), "{}", answers[2]);
    let o = simsong(&["check", one.to_str().unwrap(), upload.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("a version of song"), "{text}");

    // Published, a search shows one row per song: the upload's song with its versions folded
    // under the best of them (its group is in the re-ranking rows), unless asked otherwise.
    let published = dir.join("published");
    let o = simsong(&[
        "index",
        "merge",
        one.to_str().unwrap(),
        "--out",
        published.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let query = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec![
            "query",
            published.to_str().unwrap(),
            "--file",
            upload.to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = simsong(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let grouped = query(&[]);
    assert_eq!(
        grouped.len(),
        3,
        "the song, other, chirp + noise (declared)"
    );
    let first = &grouped[0]["hit"];
    assert!(first["id"].as_str().unwrap().starts_with("song"), "{first}");
    assert_eq!(first["versions"].as_array().unwrap().len(), 3, "{first}");
    let separate = query(&["--versions", "separate"]);
    assert_eq!(separate.len(), 7);
    assert!(separate.iter().all(|r| r["hit"].get("versions").is_none()));
    // "Similar" on a catalog track folds its neighbour list alike.
    let o = simsong(&[
        "query",
        published.to_str().unwrap(),
        "--id",
        "other",
        "--json",
    ]);
    let similar: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let song_rows = similar
        .iter()
        .filter(|r| r["hit"]["id"].as_str().unwrap().starts_with("song"))
        .count();
    assert_eq!(song_rows, 1, "{similar:?}");

    // Two shards joined: the groups of the one-machine build.
    let (s0, s1, merged) = (
        dir.join("s0.idx"),
        dir.join("s1.idx"),
        dir.join("merged.idx"),
    );
    build(&all, &s0, &["--shard", "0/2"]);
    build(&all, &s1, &["--shard", "1/2"]);
    let o = simsong(&[
        "index",
        "merge",
        s0.to_str().unwrap(),
        s1.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(versions(&merged), v);

    // The cut-down added later joins the song's group.
    let first = manifest("first.csv", &rows[..6]);
    let later = manifest("later.csv", &rows[6..]);
    let grown = dir.join("grown.idx");
    build(&first, &grown, &[]);
    let o = simsong(&[
        "index",
        "add",
        grown.to_str().unwrap(),
        "--manifest",
        later.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(members(&versions(&grown)["groups"][0]), members(&groups[0]));

    // Published first, the cut-down added later as a delta: audited against the catalog the
    // folder was published from, it joins the song's row, and the catalog keeps up.
    let first_idx = dir.join("first.idx");
    build(&first, &first_idx, &[]);
    let site = dir.join("site");
    let o = simsong(&[
        "index",
        "merge",
        first_idx.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let add = |extra: &[&str]| {
        let mut args = vec!["index", "add", site.to_str().unwrap()];
        args.extend_from_slice(extra);
        simsong(&args)
    };
    // Not the catalog of this folder (it holds the cut-down already): refused, nothing written.
    let o = add(&[
        "--manifest",
        later.to_str().unwrap(),
        "--catalog",
        one.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("is not the catalog"),
        "{err}"
    );
    let o = add(&[
        "--manifest",
        later.to_str().unwrap(),
        "--catalog",
        first_idx.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("versions: 1 added tracks join 1 published songs"),
        "{err}"
    );
    assert_eq!(
        members(&versions(&first_idx)["groups"][0]),
        members(&groups[0])
    );
    let query_site = |file: &std::path::Path| -> Vec<serde_json::Value> {
        let o = simsong(&[
            "query",
            site.to_str().unwrap(),
            "--file",
            file.to_str().unwrap(),
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let version_ids = |row: &serde_json::Value| -> Vec<String> {
        let mut ids: Vec<String> = row["hit"]["versions"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|x| x["id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    };
    let rows = query_site(&upload);
    assert_eq!(rows.len(), 3, "the song, other, chirp + noise: {rows:?}");
    let mut song: Vec<String> = version_ids(&rows[0]);
    song.push(rows[0]["hit"]["id"].as_str().unwrap().to_string());
    song.sort();
    assert_eq!(
        song,
        members(&groups[0]),
        "the delta's cut-down is one of the song's versions"
    );
    // A store's own `version_of` naming a published track: joined without any audit.
    let sine = dir.join("sine.wav");
    std::fs::copy(audio.join("synth_sine440_16k.wav"), &sine).unwrap();
    let declared = manifest(
        "declared.csv",
        &[("sine", sine.display().to_string(), "noise")],
    );
    let o = add(&["--manifest", declared.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("versions: 1 added tracks join 1 published songs"),
        "{err}"
    );
    let rows = query_site(&sine);
    assert_eq!(rows[0]["hit"]["id"], "sine", "{rows:?}");
    assert_eq!(version_ids(&rows[0]), ["chirp", "noise"], "{rows:?}");
    // Added without the catalog, so not in it: removed from both, they agree again.
    let o = simsong(&[
        "index",
        "remove",
        site.to_str().unwrap(),
        "sine",
        "--catalog",
        first_idx.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.contains("removed 0 of 1 ids"),
        "{err}"
    );
    // A one-file index is its own catalog.
    let o = simsong(&[
        "index",
        "add",
        grown.to_str().unwrap(),
        "--manifest",
        declared.to_str().unwrap(),
        "--catalog",
        first_idx.to_str().unwrap(),
    ]);
    assert!(!o.status.success());

    // A published index has no fingerprints: a clear error, not an empty answer.
    let o = simsong(&["check", dir.to_str().unwrap(), upload.to_str().unwrap()]);
    assert!(!o.status.success());
}

/// A catalog embedded by a model of the aiSFX front-end kind (the teacher's; a toy one here)
/// builds, publishes and answers like the product's own: the index records the kind's numbers,
/// tempi still come from the 16 kHz chain, a copy of a track finds it, and the student is refused
/// on it.
#[test]
fn a_catalog_of_the_aisfx_kind_builds_publishes_and_answers() {
    let model = fixture("models/test-aisfx-untrained.onnx");
    let model = model.to_str().unwrap();
    let audio = fixture("audio");
    let manifest = tmp("aisfx-catalog.tsv");
    std::fs::write(
        &manifest,
        format!(
            "id\taudio\ttitle\tcollection\n\
             a\t{0}/real_music_a_44k.wav\tMenu\tamoebax\n\
             b\t{0}/real_music_b_16k.wav\tTheme\tlugaru\n\
             c\t{0}/synth_chirp_16k.wav\tChirp\tsynth\n",
            audio.display()
        ),
    )
    .unwrap();
    let idx = tmp("aisfx-catalog.idx");
    let idx_s = idx.to_str().unwrap();
    let o = simsong(&[
        "index",
        "build",
        "--manifest",
        manifest.to_str().unwrap(),
        "--model",
        model,
        "--out",
        idx_s,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = simsong(&["index", "info", idx_s, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["tracks"], 3);
    assert_eq!(info["header"]["analysis"]["sample_rate_hz"], 44_100);
    assert_eq!(info["header"]["analysis"]["patch_frames"], 129);
    assert_eq!(info["header"]["frontendVersion"], 1);

    let published = tmp("aisfx-published");
    let o = simsong(&[
        "index",
        "merge",
        idx_s,
        "--out",
        published.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for index in [idx_s, published.to_str().unwrap()] {
        let o = simsong(&[
            "query",
            index,
            "--file",
            fixture("audio/real_music_a_44k.flac").to_str().unwrap(),
            "--model",
            model,
            "-k",
            "1",
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let hits: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(hits[0]["hit"]["id"], "a", "{index}: {hits}");
        let o = simsong(&["query", index, "--id", "b", "-k", "2", "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // The student's numbers are not this index's: refused, never a silently wrong ranking.
    let o = simsong(&[
        "query",
        idx_s,
        "--file",
        fixture("audio/real_music_a_44k.flac").to_str().unwrap(),
        "--model",
        fixture("models/test-untrained.onnx").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("was built with model"), "{err}");
}
