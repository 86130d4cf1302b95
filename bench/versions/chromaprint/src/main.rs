//! Chromaprint's fingerprint comparison on the version-detection pairs (issue #30's baseline).
//!
//! `simsong-chromaprint-baseline PAIRS.csv > OUT.jsonl`: for every pair of `PAIRS.csv`
//! (`bench/versions/make_set.py`; columns `a`, `b`, the others copied), both files decoded by
//! the product's own decoder and resampled to its 16 kHz mono (the audio our landmarks see),
//! fingerprinted with `rusty-chromaprint` (a pure-Rust port of Chromaprint, default preset
//! `test2`, as `fpcalc` uses), and matched with its `match_fingerprints` (the port of
//! Chromaprint's own matcher). One JSON object per pair with `cp_coverage`: the length of the
//! matched segments with a score under 10 bits (Chromaprint's own cut) over the shorter file's
//! length, and `cp_segments`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rusty_chromaprint::{Configuration, Fingerprinter, match_fingerprints};
use serde_json::{Map, Value, json};

/// Segments scoring at most this many differing bits (of 32) per item count as matched.
const MAX_SEGMENT_SCORE: f64 = 10.0;

struct Print {
    items: Vec<u32>,
    seconds: f32,
}

fn fingerprint(path: &Path, config: &Configuration) -> Result<Print, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str());
    let (mono, info) =
        simsong::audio::decode_mono(bytes, ext).map_err(|e| format!("{}: {e}", path.display()))?;
    let y =
        simsong::audio::resample(&mono, info.sample_rate_hz, 16_000).map_err(|e| e.to_string())?;
    let pcm: Vec<i16> = y
        .iter()
        .map(|v| (v.clamp(-1.0, 1.0) * 32767.0) as i16)
        .collect();
    let mut printer = Fingerprinter::new(config);
    printer.start(16_000, 1).map_err(|e| format!("{e:?}"))?;
    printer.consume(&pcm);
    printer.finish();
    Ok(Print {
        items: printer.fingerprint().to_vec(),
        seconds: y.len() as f32 / 16_000.0,
    })
}

fn main() {
    let csv_path = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: simsong-chromaprint-baseline PAIRS.csv"),
    );
    let base = csv_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut reader = csv::Reader::from_path(&csv_path).expect("readable pairs CSV");
    let headers = reader.headers().expect("a header").clone();
    let col = |n: &str| {
        headers
            .iter()
            .position(|h| h == n)
            .expect("columns a and b")
    };
    let (ia, ib) = (col("a"), col("b"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a CSV row")).collect();
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
    let config = Configuration::preset_test2();
    let started = std::time::Instant::now();
    let prints: HashMap<PathBuf, Result<Print, String>> = files
        .par_iter()
        .map(|f| (f.clone(), fingerprint(f, &config)))
        .collect();
    eprintln!(
        "{} fingerprints in {:.1} s",
        prints.len(),
        started.elapsed().as_secs_f64()
    );
    let lines: Vec<String> = rows
        .par_iter()
        .map(|r| {
            let mut out = Map::new();
            for (h, v) in headers.iter().zip(r.iter()) {
                out.insert(h.to_string(), json!(v));
            }
            match (&prints[&resolve(&r[ia])], &prints[&resolve(&r[ib])]) {
                (Ok(a), Ok(b)) => {
                    let shorter = a.seconds.min(b.seconds).max(1e-3);
                    match match_fingerprints(&a.items, &b.items, &config) {
                        Ok(segments) => {
                            let matched: f32 = segments
                                .iter()
                                .filter(|s| s.score <= MAX_SEGMENT_SCORE)
                                .map(|s| s.duration(&config))
                                .sum();
                            out.insert("cp_coverage".into(), json!((matched / shorter).min(1.0)));
                            out.insert("cp_segments".into(), json!(segments.len()));
                        }
                        Err(e) => {
                            out.insert("error".into(), json!(format!("{e:?}")));
                        }
                    }
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
}
