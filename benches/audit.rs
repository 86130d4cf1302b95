//! The version audit at store scale (issue #30: "audit of 600k tracks ≤ 10 min"), natively,
//! printed as JSON for `bench/versions/audit_scale.sh`.
//!
//! `cargo bench --features cli --bench audit -- SYNTH.idx REAL.idx ASSIGN.u32`
//!
//! SYNTH.idx is a synthetic store catalog (embeddings and segments drawn from real music, with
//! versions of songs: `scripts/synth_catalog.py`, imported without audio, so without
//! fingerprints); REAL.idx an index of real audio (the versions evaluation set, built with
//! fingerprints); ASSIGN.u32 gives each synthetic track the position of the real track whose
//! fingerprint it takes (little-endian u32, one per track: `bench/versions/assign.py` gives a
//! song and its versions one real track and its edits, every other track an unrelated one).
//! The audit then runs as `index build` runs it, and the bench reports its time.

use std::time::Instant;

use simsong::CatalogIndex;
use simsong::index::FingerprintTable;
use simsong::versions::audit::{AuditOptions, AuditScope, audit};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [synth, real, assign] = args.as_slice() else {
        eprintln!(
            "usage: cargo bench --features cli --bench audit -- SYNTH.idx REAL.idx ASSIGN.u32"
        );
        std::process::exit(2);
    };
    let load = |path: &str| {
        CatalogIndex::from_bytes(&std::fs::read(path).expect("readable index")).expect("an index")
    };
    let started = Instant::now();
    let mut catalog = load(synth);
    let real = load(real);
    let assign: Vec<u32> = std::fs::read(assign)
        .expect("the assignment")
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(
        assign.len(),
        catalog.len(),
        "one real track per synthetic track"
    );
    let mut table = FingerprintTable::default();
    for &r in &assign {
        table.push(real.fingerprints().get(r as usize));
    }
    let fingerprint_bytes = table.total_bytes();
    catalog.set_fingerprints(table).expect("one slot per track");
    let load_seconds = started.elapsed().as_secs_f64();
    let report = audit(&catalog, AuditScope::All, AuditOptions::default()).expect("the audit");
    let (compared, links) = (report.compared, report.links.len());
    catalog.set_versions(report.links);
    // Groups with more than one track.
    let mut sizes = std::collections::HashMap::new();
    for g in catalog.version_groups() {
        *sizes.entry(g).or_insert(0usize) += 1;
    }
    let groups = sizes.values().filter(|&&n| n > 1).count();
    println!(
        "{}",
        serde_json::json!({
            "tracks": catalog.len(),
            "fingerprint_megabytes": fingerprint_bytes as f64 / 1e6,
            "threads": rayon::current_num_threads(),
            "load_seconds": load_seconds,
            "pairs_compared": compared,
            "links": links,
            "groups": groups,
            "candidate_seconds": report.candidate_seconds,
            "audit_seconds": report.seconds,
        })
    );
}
