//! `simsong compare A B`: whether one file's audio is contained in the other's (a version:
//! cut-down, loop, re-encoding, other mastering, a little faster or higher), where, and how.
//! `--pairs PAIRS.csv` compares many pairs (columns `a`, `b`; every other column is copied to
//! the output), each file analysed once (landmarks and segment embeddings): one JSON object per
//! pair, for measuring the detector (`bench/versions/`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use simsong::frontend::FrontEnd;
use simsong::versions::{Comparison, Fingerprint, aligned_similarity, compare_either};
use simsong::{Engine, Segment};

use crate::progress::files_bar;

#[derive(Args)]
pub struct CompareArgs {
    /// Two audio files (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A).
    files: Vec<PathBuf>,
    /// A CSV of pairs to compare instead (columns `a` and `b`: paths, relative to the CSV's
    /// folder unless absolute); writes one JSON object per pair.
    #[arg(long, conflicts_with = "files")]
    pairs: Option<PathBuf>,
    /// JSON instead of text (always with --pairs).
    #[arg(long)]
    json: bool,
    /// Model file (ONNX) whose segment embeddings check that aligned parts sound alike; the
    /// shipped model built into this binary when omitted.
    #[arg(long)]
    model: Option<PathBuf>,
}

/// What a comparison reads of a file: its landmarks, and the model's segment embeddings.
struct Track {
    fingerprint: Fingerprint,
    segments: Vec<Segment>,
}

struct Analyser {
    engine: Engine,
    /// The engine's front end, with fingerprints.
    front: FrontEnd,
}

impl Analyser {
    fn new(engine: Engine) -> Self {
        let front = engine.front_end().clone().with_fingerprint(true);
        Analyser { engine, front }
    }

    fn track(&self, path: &Path) -> anyhow::Result<Track> {
        let mut features = self
            .front
            .features_from_path(path)
            .with_context(|| format!("{}", path.display()))?;
        let fingerprint = features
            .fingerprint
            .take()
            .expect("the front end was asked for it");
        let analysis = self
            .engine
            .analyze_features(features)
            .with_context(|| format!("{}", path.display()))?;
        Ok(Track {
            fingerprint,
            segments: analysis.segments,
        })
    }

    /// Compares two tracks (the shorter as the query); `true` when `b` was the query.
    fn compare(&self, a: &Track, b: &Track) -> (Comparison, bool) {
        let (mut c, swapped) = compare_either(&a.fingerprint, &b.fingerprint);
        let (q, r) = if swapped { (b, a) } else { (a, b) };
        c.timbre_similarity = aligned_similarity(
            &c,
            &q.segments,
            &r.segments,
            self.engine.params().patch_seconds(),
        );
        (c, swapped)
    }
}

pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    if args.pairs.is_none() && args.files.len() != 2 {
        bail!("give two audio files (or --pairs PAIRS.csv)");
    }
    let analyser = Analyser::new(crate::load_engine(args.model.as_deref())?);
    if let Some(pairs) = &args.pairs {
        return compare_pairs(&analyser, pairs);
    }
    let [a, b] = args.files.as_slice() else {
        unreachable!("checked above");
    };
    let (ta, tb) = (analyser.track(a)?, analyser.track(b)?);
    let (c, swapped) = analyser.compare(&ta, &tb);
    let (query, reference) = if swapped { (b, a) } else { (a, b) };
    if args.json {
        let mut out = comparison_json(&c);
        out.insert("query".into(), json!(query.display().to_string()));
        out.insert("reference".into(), json!(reference.display().to_string()));
        println!("{}", Value::Object(out));
    } else {
        println!("{}", describe(&c, query, reference));
    }
    Ok(ExitCode::SUCCESS)
}

fn compare_pairs(analyser: &Analyser, csv_path: &Path) -> anyhow::Result<ExitCode> {
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let mut reader = csv::Reader::from_path(csv_path)
        .with_context(|| format!("cannot read {}", csv_path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(ia), Some(ib)) = (column("a"), column("b")) else {
        bail!("{}: needs columns `a` and `b`", csv_path.display());
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        rows.push(record?);
    }
    let resolve = |p: &str| {
        let p = PathBuf::from(p);
        if p.is_absolute() { p } else { base.join(p) }
    };
    let mut files: Vec<PathBuf> = rows
        .iter()
        .flat_map(|r| [resolve(&r[ia]), resolve(&r[ib])])
        .collect();
    files.sort();
    files.dedup();
    let bar = files_bar(files.len(), "fingerprints");
    let prints: HashMap<PathBuf, Result<Track, String>> = files
        .par_iter()
        .map(|f| {
            let r = analyser.track(f).map_err(|e| format!("{e:#}"));
            bar.inc(1);
            (f.clone(), r)
        })
        .collect();
    bar.finish_and_clear();
    let lines: Vec<String> = rows
        .par_iter()
        .map(|r| {
            let mut out = Map::new();
            for (h, v) in headers.iter().zip(r.iter()) {
                out.insert(h.to_string(), json!(v));
            }
            let (a, b) = (&prints[&resolve(&r[ia])], &prints[&resolve(&r[ib])]);
            match (a, b) {
                (Ok(fa), Ok(fb)) => {
                    let started = std::time::Instant::now();
                    let (c, swapped) = analyser.compare(fa, fb);
                    out.extend(comparison_json(&c));
                    out.insert("swapped".into(), json!(swapped));
                    let (fa, fb) = (&fa.fingerprint, &fb.fingerprint);
                    out.insert("a_landmarks".into(), json!(fa.landmarks.len()));
                    out.insert("b_landmarks".into(), json!(fb.landmarks.len()));
                    out.insert("a_seconds".into(), json!(fa.duration_seconds()));
                    out.insert("b_seconds".into(), json!(fb.duration_seconds()));
                    out.insert(
                        "compare_us".into(),
                        json!(started.elapsed().as_micros() as u64),
                    );
                }
                (Err(e), _) | (_, Err(e)) => {
                    out.insert("error".into(), json!(e));
                }
            }
            Value::Object(out).to_string()
        })
        .collect();
    for line in lines {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn comparison_json(c: &Comparison) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("version".into(), json!(c.is_version()));
    out.insert("score".into(), json!(c.score()));
    out.insert("matches".into(), json!(c.matches));
    out.insert("inliers".into(), json!(c.inliers));
    out.insert("coverage".into(), json!(c.coverage));
    out.insert("tempo_ratio".into(), json!(c.tempo_ratio));
    out.insert("pitch_semitones".into(), json!(c.pitch_semitones));
    out.insert("query_landmarks".into(), json!(c.query_landmarks));
    out.insert("matched_peaks".into(), json!(c.matched_peaks));
    out.insert("peak_share".into(), json!(c.peak_share));
    out.insert("strength_correlation".into(), json!(c.strength_correlation));
    out.insert("timbre_similarity".into(), json!(c.timbre_similarity));
    out.insert(
        "alignments".into(),
        c.alignments
            .iter()
            .map(|a| {
                json!({
                    "offset_seconds": a.offset_seconds,
                    "inliers": a.inliers,
                    "peaks": a.peaks,
                    "query_span": [a.query_span.0, a.query_span.1],
                    "reference_span": [a.reference_span.0, a.reference_span.1],
                })
            })
            .collect(),
    );
    out
}

fn describe(c: &Comparison, query: &Path, reference: &Path) -> String {
    let (q, r) = (query.display(), reference.display());
    let Some(best) = c.alignments.first() else {
        return format!(
            "{q} is not a version of {r} ({} matching landmarks, none lined up)",
            c.matches
        );
    };
    let verdict = if c.is_version() {
        "is a version of"
    } else {
        "is not a version of"
    };
    format!(
        "{q} {verdict} {r}: {:.0}% of its seconds line up ({:.0}% of its peaks), at \
         {:.1}–{:.1} s of it, tempo ×{:.3}, pitch {:+.2} semitones, {} alignment(s)",
        100.0 * c.coverage,
        100.0 * c.peak_share,
        best.reference_span.0,
        best.reference_span.1,
        c.tempo_ratio,
        c.pitch_semitones,
        c.alignments.len()
    )
}
