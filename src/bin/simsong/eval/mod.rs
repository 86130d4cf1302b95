//! `simsong eval`: how well a model retrieves same-collection music and names the main
//! instrument, next to a 20-MFCC mean/std baseline computed on the same held-out split.
//!
//! Inputs are the training-data manifests (`training/prepare_data.sh` writes them):
//! - `--tracks tracks.csv` (`track_id`, `package`, `collection`, `audio_path`): real music; the
//!   label of a track is `package/collection` (an album or a game's soundtrack).
//! - `--renders renders.csv` (`clip_id`, `class`, `audio_path`): MIDI renders labelled with the
//!   main instrument.
//! - `--splits splits.json`: `real.track_split[track_id]` and `renders.clip_split[clip_id]` name
//!   each item's split; `--split` picks the one evaluated (default `test`).
//!
//! Same-collection retrieval: every evaluated track whose collection has another evaluated track
//! is a query; all other evaluated tracks are ranked by cosine similarity; P@k is the share of
//! same-collection tracks among the first k, averaged over queries. The model ranks with its
//! track embedding (what the product uses); the baseline with the 40-d MFCC mean/std vector,
//! z-scored over the evaluated tracks. Main instrument: the model's `instrument` head (argmax of
//! the track-mean probabilities); the baseline is a multinomial logistic regression on z-scored
//! MFCC vectors fit on the `--fit-split` (default `train`) renders.
//!
//! Both see the audio through the product's own front end: MFCCs come from the same mel power
//! spectrogram (recovered exactly from the log-mel patches, every analysed frame once).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use metrics::{
    Logistic, accuracy_report, argmax, mfcc_vector, p_json, precision_at, zscore, zscore_stats,
};
use mfcc::Mfcc;
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::progress::files_bar;

mod metrics;
mod mfcc;

/// Number of MFCCs of the baseline (librosa's default).
const N_MFCC: usize = 20;
const KS: [usize; 3] = [1, 5, 10];

#[derive(Args)]
pub struct EvalArgs {
    /// Real-music manifest (CSV with `track_id`, `package`, `collection`, `audio_path`).
    #[arg(long)]
    tracks: PathBuf,
    /// Labelled renders manifest (CSV with `clip_id`, `class`, `audio_path`).
    #[arg(long)]
    renders: Option<PathBuf>,
    /// Split file (`splits.json` from training/make_splits.py).
    #[arg(long)]
    splits: PathBuf,
    /// Split to evaluate.
    #[arg(long, default_value = "test")]
    split: String,
    /// Split whose renders fit the MFCC baseline's instrument classifier.
    #[arg(long, default_value = "train")]
    fit_split: String,
    /// Model file (ONNX); the shipped model built into this binary when omitted.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Also write the results as JSON to this file (`-` for stdout instead of the table).
    #[arg(long)]
    json: Option<PathBuf>,
}

struct Item {
    id: String,
    label: String,
    path: PathBuf,
}

/// What one file yields: the model's track embedding and head summary, and the MFCC vector.
struct Analysed {
    embedding: Vec<f32>,
    instrument: Option<Vec<f32>>,
    mfcc: Vec<f32>,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let engine = crate::load_engine(args.model.as_deref())?;
    let meta = engine.model_metadata().clone();
    let splits: Value = serde_json::from_str(
        &std::fs::read_to_string(&args.splits)
            .with_context(|| format!("cannot read {}", args.splits.display()))?,
    )
    .with_context(|| format!("{} is not JSON", args.splits.display()))?;

    let tracks = select(
        &args.tracks,
        &splits["real"]["track_split"],
        &args.split,
        "track_id",
        |r| Some(format!("{}/{}", r.get("package")?, r.get("collection")?)),
    )?;
    if tracks.is_empty() {
        bail!(
            "no track of {} is in split `{}` of {}",
            args.tracks.display(),
            args.split,
            args.splits.display()
        );
    }
    let (renders, fit_renders) = match &args.renders {
        Some(path) => {
            let class = |r: &HashMap<String, String>| r.get("class").cloned();
            let split_map = &splits["renders"]["clip_split"];
            (
                select(path, split_map, &args.split, "clip_id", class)?,
                select(path, split_map, &args.fit_split, "clip_id", class)?,
            )
        }
        None => (Vec::new(), Vec::new()),
    };

    let instrument_head = meta.heads.iter().position(|h| h.output == "instrument");
    let classes: Vec<String> = match instrument_head {
        Some(h) => meta.heads[h].classes.clone(),
        None => {
            let mut c: Vec<String> = renders.iter().map(|r| r.label.clone()).collect();
            c.sort();
            c.dedup();
            c
        }
    };
    let mfcc = Mfcc::new(engine.params().n_mels, N_MFCC);
    let log_gain = engine.params().log_gain;
    let n_mels = engine.params().n_mels;

    let total = tracks.len() + renders.len() + fit_renders.len();
    let bar = files_bar(total, "evaluating");
    let analyse = |item: &Item, with_model: bool| -> anyhow::Result<Analysed> {
        let features = engine
            .front_end()
            .features_from_path(&item.path)
            .with_context(|| item.path.display().to_string())?;
        let mfcc_vec = mfcc_vector(&mfcc, &features, n_mels, log_gain)
            .with_context(|| format!("{}: no frames", item.path.display()))?;
        let (embedding, instrument) = if with_model {
            let a = engine
                .analyze_features(features)
                .with_context(|| item.path.display().to_string())?;
            let inst = instrument_head.map(|h| a.heads[h].probabilities.clone());
            (a.embedding, inst)
        } else {
            (Vec::new(), None)
        };
        bar.inc(1);
        Ok(Analysed {
            embedding,
            instrument,
            mfcc: mfcc_vec,
        })
    };
    let run_all = |items: &[Item], with_model: bool| -> Vec<Option<Analysed>> {
        items
            .par_iter()
            .map(|it| match analyse(it, with_model) {
                Ok(a) => Some(a),
                Err(e) => {
                    bar.suspend(|| eprintln!("skipped {}: {e:#}", it.id));
                    None
                }
            })
            .collect()
    };
    let t0 = std::time::Instant::now();
    let track_out = run_all(&tracks, true);
    let render_out = run_all(&renders, true);
    let fit_out = run_all(&fit_renders, false);
    bar.finish_and_clear();
    let failed = [&track_out, &render_out, &fit_out]
        .iter()
        .map(|v| v.iter().filter(|a| a.is_none()).count())
        .sum::<usize>();

    // ---- retrieval
    let (ok_tracks, ok_out): (Vec<&Item>, Vec<&Analysed>) = tracks
        .iter()
        .zip(&track_out)
        .filter_map(|(t, a)| a.as_ref().map(|a| (t, a)))
        .unzip();
    let labels: Vec<&str> = ok_tracks.iter().map(|t| t.label.as_str()).collect();
    let model_vecs: Vec<Vec<f32>> = ok_out.iter().map(|a| a.embedding.clone()).collect();
    let mut mfcc_vecs: Vec<Vec<f32>> = ok_out.iter().map(|a| a.mfcc.clone()).collect();
    let (mu, sd) = zscore_stats(&mfcc_vecs);
    mfcc_vecs.iter_mut().for_each(|v| zscore(v, &mu, &sd));
    let model_p = precision_at(&model_vecs, &labels);
    let mfcc_p = precision_at(&mfcc_vecs, &labels);
    let mut per_label: BTreeMap<&str, usize> = BTreeMap::new();
    labels
        .iter()
        .for_each(|l| *per_label.entry(l).or_default() += 1);
    let n_queries = labels.iter().filter(|l| per_label[*l] >= 2).count();

    // ---- instrument
    let class_ix = |name: &str| classes.iter().position(|c| c == name);
    let eval_r: Vec<(usize, &Analysed)> = renders
        .iter()
        .zip(&render_out)
        .filter_map(|(r, a)| Some((class_ix(&r.label)?, a.as_ref()?)))
        .collect();
    let fit_r: Vec<(usize, &Analysed)> = fit_renders
        .iter()
        .zip(&fit_out)
        .filter_map(|(r, a)| Some((class_ix(&r.label)?, a.as_ref()?)))
        .collect();
    let model_acc = if instrument_head.is_some() && !eval_r.is_empty() {
        let pred: Vec<usize> = eval_r
            .iter()
            .map(|(_, a)| argmax(a.instrument.as_deref().unwrap_or(&[])))
            .collect();
        Some(accuracy_report(&eval_r, &pred, &classes))
    } else {
        None
    };
    let mfcc_acc = if !eval_r.is_empty() && !fit_r.is_empty() {
        let fit_x: Vec<Vec<f32>> = fit_r.iter().map(|(_, a)| a.mfcc.clone()).collect();
        let (mu, sd) = zscore_stats(&fit_x);
        let norm = |v: &[f32]| {
            let mut v = v.to_vec();
            zscore(&mut v, &mu, &sd);
            v
        };
        let xs: Vec<Vec<f32>> = fit_x.iter().map(|v| norm(v)).collect();
        let ys: Vec<usize> = fit_r.iter().map(|(y, _)| *y).collect();
        let clf = Logistic::fit(&xs, &ys, classes.len());
        let pred: Vec<usize> = eval_r
            .iter()
            .map(|(_, a)| argmax(&clf.scores(&norm(&a.mfcc))))
            .collect();
        Some(accuracy_report(&eval_r, &pred, &classes))
    } else {
        None
    };

    let report = json!({
        "split": args.split,
        "model": {"name": meta.name, "trained": meta.trained, "sha256": engine.model_sha256(),
                  "path": args.model.as_ref().map_or_else(|| "(built in)".to_string(), |p| p.display().to_string())},
        "retrieval": {
            "tracks": labels.len(),
            "collections": per_label.len(),
            "queries": n_queries,
            "model": p_json(&model_p),
            "mfcc": p_json(&mfcc_p),
        },
        "instrument": {
            "clips": eval_r.len(),
            "classes": classes,
            "model": model_acc,
            "mfcc": mfcc_acc,
            "mfcc_classifier": format!(
                "multinomial logistic regression on z-scored MFCC mean/std, fit on {} `{}` renders",
                fit_r.len(), args.fit_split),
        },
        "baseline": format!("{N_MFCC}-MFCC mean/std (librosa-style DCT-II ortho of power_to_db(mel power), top_db 80), z-scored, cosine"),
        "failed_files": failed,
        "seconds": t0.elapsed().as_secs_f64(),
    });

    let to_stdout = args.json.as_deref() == Some(Path::new("-"));
    if let Some(path) = args.json.as_deref().filter(|_| !to_stdout) {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if to_stdout {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report, &meta.name);
    }
    if failed > 0 {
        eprintln!("{failed} files could not be analysed (see above)");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Rows of `csv` whose `id_col` maps to `split` in `split_map`, with a label from `label`.
fn select(
    csv_path: &Path,
    split_map: &Value,
    split: &str,
    id_col: &str,
    label: impl Fn(&HashMap<String, String>) -> Option<String>,
) -> anyhow::Result<Vec<Item>> {
    if !split_map.is_object() {
        bail!(
            "the split file has no map for `{id_col}` (expected real.track_split / renders.clip_split)"
        );
    }
    let text = std::fs::read_to_string(csv_path)
        .with_context(|| format!("cannot read {}", csv_path.display()))?;
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for row in parse_csv(&text).with_context(|| format!("{}: malformed CSV", csv_path.display()))? {
        let (Some(id), Some(audio)) = (row.get(id_col), row.get("audio_path")) else {
            bail!("{} lacks `{id_col}` or `audio_path`", csv_path.display());
        };
        if split_map[id].as_str() != Some(split) {
            continue;
        }
        let Some(lab) = label(&row) else {
            bail!("{}: row {id} has no label", csv_path.display());
        };
        let path = Path::new(audio);
        out.push(Item {
            id: id.clone(),
            label: lab,
            path: if path.is_absolute() {
                path.to_path_buf()
            } else {
                base.join(path)
            },
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// RFC 4180 CSV with a header row → one map per record.
fn parse_csv(text: &str) -> anyhow::Result<Vec<HashMap<String, String>>> {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                any = false;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        bail!("unterminated quoted field");
    }
    if any {
        record.push(field);
        records.push(record);
    }
    let mut it = records.into_iter();
    let header = it.next().unwrap_or_default();
    Ok(it
        .filter(|r| !(r.len() == 1 && r[0].is_empty()))
        .map(|r| header.iter().cloned().zip(r).collect())
        .collect())
}

fn print_table(r: &Value, model_name: &str) {
    let ret = &r["retrieval"];
    let inst = &r["instrument"];
    println!(
        "simsong eval: split `{}`, model {} (sha256 {})",
        r["split"].as_str().unwrap_or(""),
        model_name,
        &r["model"]["sha256"].as_str().unwrap_or("")
            [..12.min(r["model"]["sha256"].as_str().unwrap_or("").len())]
    );
    println!(
        "retrieval: {} tracks, {} collections, {} queries | instrument: {} held-out render clips",
        ret["tracks"], ret["collections"], ret["queries"], inst["clips"]
    );
    println!();
    println!(
        "{:<26} {:>6} {:>6} {:>6} {:>16}",
        "", "P@1", "P@5", "P@10", "instrument acc"
    );
    let fmt_acc = |v: &Value| match v["accuracy"].as_f64() {
        Some(a) => format!("{:.3}", a),
        None => "-".to_string(),
    };
    for (name, key) in [
        (model_name.to_string(), "model"),
        (format!("MFCC-{N_MFCC} mean/std"), "mfcc"),
    ] {
        let p = &ret[key];
        println!(
            "{:<26} {:>6.3} {:>6.3} {:>6.3} {:>16}",
            name,
            p["p_at_1"].as_f64().unwrap_or(0.0),
            p["p_at_5"].as_f64().unwrap_or(0.0),
            p["p_at_10"].as_f64().unwrap_or(0.0),
            fmt_acc(&inst[key])
        );
    }
    let (m10, b10) = (
        ret["model"]["p_at_10"].as_f64().unwrap_or(0.0),
        ret["mfcc"]["p_at_10"].as_f64().unwrap_or(0.0),
    );
    if b10 > 0.0 {
        println!();
        println!("P@10 model / MFCC: {:.2}x", m10 / b10);
    }
    println!(
        "MFCC instrument classifier: {}",
        inst["mfcc_classifier"].as_str().unwrap_or("")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_and_commas() {
        let rows = parse_csv("a,b\n\"x,1\",\"say \"\"hi\"\"\"\r\nplain,2\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["a"], "x,1");
        assert_eq!(rows[0]["b"], "say \"hi\"");
        assert_eq!(rows[1]["b"], "2");
    }
}
