//! Versions in the CLI: the audit that runs after `index build`, `merge` and `add`;
//! `simsong index versions CATALOG [--json]`, which lists a catalog's version groups; and
//! `simsong check CATALOG FILE... [--json]`, which says of each upload whether it is a version
//! of a catalog track, of which, where in it and how sure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use simsong::CatalogIndex;
use simsong::index::{LinkSource, VersionLink};
use simsong::versions::audit::{AuditOptions, AuditScope, DEFAULT_MIN_COSINE, DEFAULT_NEIGHBOURS};
use simsong::versions::check::{CheckOutcome, DEFAULT_CANDIDATES, check_upload};
use simsong::versions::verify::{MIN_SCORE, MIN_TIMBRE};

/// Audits `index` (`scope`: all tracks, or those added from a position on) and stores the
/// links; prints what it found on stderr.
pub fn audit_into(index: &mut CatalogIndex, scope: AuditScope) -> anyhow::Result<()> {
    audit_with(index, scope, AuditOptions::default())
}

/// [`audit_into`] with other candidates than the default.
pub fn audit_with(
    index: &mut CatalogIndex,
    scope: AuditScope,
    options: AuditOptions,
) -> anyhow::Result<()> {
    let report =
        simsong::versions::audit::audit_into(index, scope, options).context("version audit")?;
    for (track, id) in &report.unknown_declared {
        eprintln!("track `{track}`: version_of names `{id}`, which is not in the index");
    }
    let links = index.versions().links.len();
    let groups = group_members(index).len();
    eprintln!(
        "versions: {links} links in {groups} groups ({} detected of {} pairs compared, {} declared: {} confirmed, {} not), {} of {} tracks fingerprinted, candidates in {:.1} s, {:.1} s",
        report.detected,
        report.compared,
        report.confirmed + report.unconfirmed,
        report.confirmed,
        report.unconfirmed,
        report.fingerprinted,
        index.len(),
        report.candidate_seconds,
        report.seconds
    );
    Ok(())
}

/// The groups with more than one track: group → positions, in position order.
pub fn group_members(index: &CatalogIndex) -> BTreeMap<u32, Vec<u32>> {
    let mut groups: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (t, g) in index.version_groups().into_iter().enumerate() {
        groups.entry(g).or_default().push(t as u32);
    }
    groups.retain(|_, members| members.len() > 1);
    groups
}

/// The track a group is shown by: one the store declared another a version of, else the
/// longest (lengths within 1% count as equal, an MP3's padding included; then the first).
fn canonical(index: &CatalogIndex, members: &[u32]) -> u32 {
    let tracks = index.tracks();
    let declared_parent = index
        .versions()
        .links
        .iter()
        .filter(|l| l.source == LinkSource::Declared && members.binary_search(&l.whole).is_ok())
        .map(|l| l.whole)
        .min();
    declared_parent.unwrap_or_else(|| {
        let duration = |m: u32| tracks[m as usize].duration_seconds;
        let longest = members.iter().map(|&m| duration(m)).fold(0.0f32, f32::max);
        *members
            .iter()
            .find(|&&m| duration(m) >= longest * 0.99)
            .expect("a group has members")
    })
}

fn link_json(index: &CatalogIndex, l: &VersionLink) -> Value {
    let id = |p: u32| index.tracks()[p as usize].id.clone();
    json!({
        "part": id(l.part),
        "whole": id(l.whole),
        "source": l.source.name(),
        "score": l.score,
        "timbre": if l.timbre.is_nan() { Value::Null } else { json!(l.timbre) },
        "tempoRatio": l.tempo_ratio,
        "pitchSemitones": l.pitch_semitones,
        "partSpan": [l.part_span.0, l.part_span.1],
        "wholeSpan": [l.whole_span.0, l.whole_span.1],
    })
}

/// `m:ss`.
fn clock(seconds: f32) -> String {
    let s = seconds.max(0.0).round() as u32;
    format!("{}:{:02}", s / 60, s % 60)
}

fn describe_link(index: &CatalogIndex, l: &VersionLink) -> String {
    let t = |p: u32| &index.tracks()[p as usize];
    if l.source == LinkSource::Declared {
        return format!(
            "{} is a version of {} (declared; the audit did not confirm it)",
            t(l.part).id,
            t(l.whole).id
        );
    }
    format!(
        "{} is in {} at {}–{} of it (tempo ×{:.3}, pitch {:+.1} st, score {:.2}, timbre {:.2}; {})",
        t(l.part).id,
        t(l.whole).id,
        clock(l.whole_span.0),
        clock(l.whole_span.1),
        l.tempo_ratio,
        l.pitch_semitones,
        l.score,
        l.timbre,
        l.source.name()
    )
}

#[derive(Args)]
pub struct VersionsArgs {
    /// The one-file index.
    index: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Audit every track again first (after a change of `version_of`, or of the detector)
    /// and write the index back.
    #[arg(long)]
    audit: bool,
    /// With --audit: nearest neighbours by embedding compared with each track.
    #[arg(long, requires = "audit", default_value_t = DEFAULT_NEIGHBOURS)]
    neighbours: usize,
    /// With --audit: least embedding cosine of a candidate pair.
    #[arg(long, requires = "audit", default_value_t = DEFAULT_MIN_COSINE)]
    min_cosine: f32,
}

/// `simsong index versions CATALOG [--json] [--audit]`.
pub fn versions(args: VersionsArgs) -> anyhow::Result<ExitCode> {
    if args.audit {
        let mut catalog = crate::index_cmd::load(&args.index)?;
        let options = AuditOptions {
            neighbours: args.neighbours,
            min_cosine: args.min_cosine,
        };
        audit_with(&mut catalog, AuditScope::All, options)?;
        crate::index_cmd::save(&catalog, &args.index)?;
    }
    list(&args.index, args.json)
}

/// Lists the version groups of the one-file index at `path`.
fn list(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    if crate::published::is_published(path) {
        bail!(
            "{}: a published index keeps the groups, not the fingerprints: list the versions of the one-file index it was published from",
            path.display()
        );
    }
    let index = crate::index_cmd::load(path)?;
    let groups = group_members(&index);
    let links_of = |members: &[u32]| -> Vec<&VersionLink> {
        index
            .versions()
            .links
            .iter()
            .filter(|l| members.binary_search(&l.part).is_ok())
            .collect()
    };
    if json {
        let list: Vec<Value> = groups
            .values()
            .map(|members| {
                let ids: Vec<&str> = members
                    .iter()
                    .map(|&m| index.tracks()[m as usize].id.as_str())
                    .collect();
                json!({
                    "canonical": index.tracks()[canonical(&index, members) as usize].id,
                    "members": ids,
                    "links": links_of(members).iter().map(|l| link_json(&index, l)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let out = json!({
            "tracks": index.len(),
            "fingerprinted": index.fingerprints().count(),
            "audited": index.versions().audited,
            "groups": list,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} tracks ({} fingerprinted): {} version groups",
        index.len(),
        index.fingerprints().count(),
        groups.len()
    );
    for members in groups.values() {
        let head = &index.tracks()[canonical(&index, members) as usize];
        println!(
            "\n{} versions of {} ({}, {}):",
            members.len(),
            head.id,
            head.title,
            clock(head.duration_seconds)
        );
        for l in links_of(members) {
            println!("  {}", describe_link(&index, l));
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct CheckArgs {
    /// The one-file catalog index (`.idx`, built with fingerprints).
    catalog: PathBuf,
    /// Uploads to check (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// JSON lines instead of text (one object per file).
    #[arg(long)]
    json: bool,
    /// Catalog tracks compared with each upload: its nearest by embedding.
    #[arg(long, default_value_t = DEFAULT_CANDIDATES)]
    candidates: usize,
    /// Model file (ONNX); the shipped model built into this binary when omitted. It must be
    /// the one the catalog was built with.
    #[arg(long)]
    model: Option<PathBuf>,
}

/// `simsong check CATALOG FILE...`.
pub fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if crate::published::is_published(&args.catalog) {
        bail!(
            "{}: a published index has no fingerprints: check against the one-file index it was published from",
            args.catalog.display()
        );
    }
    let index = crate::index_cmd::load(&args.catalog)?;
    if index.fingerprints().count() == 0 {
        bail!(
            "{}: no track has a fingerprint (imported without audio, or built before format 4): build it again from the audio",
            args.catalog.display()
        );
    }
    let engine = crate::load_engine(args.model.as_deref())?;
    index.ensure_model(engine.model_sha256(), &engine.model_metadata().name)?;
    let front = engine.front_end().clone().with_fingerprint(true);
    let mut failed = 0;
    for file in &args.files {
        let analysed = front
            .features_from_path(file)
            .and_then(|features| engine.analyze_features(features));
        let analysis = match analysed {
            Ok(a) => a,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                if args.json {
                    println!(
                        "{}",
                        json!({ "file": file.display().to_string(), "error": e.to_string() })
                    );
                }
                failed += 1;
                continue;
            }
        };
        let outcome = check_upload(&index, &analysis, args.candidates)?;
        print_check(&index, file, &outcome, args.json)?;
    }
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// One upload's verdict.
fn print_check(
    index: &CatalogIndex,
    file: &Path,
    outcome: &CheckOutcome,
    json: bool,
) -> anyhow::Result<()> {
    let nearest = outcome.nearest;
    let found: Vec<(VersionLink, bool, f32)> = outcome
        .matches
        .iter()
        .map(|m| (m.link, m.upload_is_part, m.cosine))
        .collect();
    let track = |l: &VersionLink, upload_is_part: bool| {
        &index.tracks()[if upload_is_part { l.whole } else { l.part } as usize]
    };
    if json {
        let versions: Vec<Value> = found
            .iter()
            .map(|(l, upload_is_part, cosine)| {
                let t = track(l, *upload_is_part);
                json!({
                    "id": t.id,
                    "title": t.title,
                    "relation": if *upload_is_part { "contained in it" } else { "contains it" },
                    "score": l.score,
                    "timbre": if l.timbre.is_nan() { Value::Null } else { json!(l.timbre) },
                    "tempoRatio": l.tempo_ratio,
                    "pitchSemitones": l.pitch_semitones,
                    "uploadSpan": if *upload_is_part { [l.part_span.0, l.part_span.1] } else { [l.whole_span.0, l.whole_span.1] },
                    "trackSpan": if *upload_is_part { [l.whole_span.0, l.whole_span.1] } else { [l.part_span.0, l.part_span.1] },
                    "cosine": cosine,
                })
            })
            .collect();
        let out = json!({
            "file": file.display().to_string(),
            "isVersion": !found.is_empty(),
            "versions": versions,
            "nearest": nearest.map(|(c, t)| json!({ "id": index.tracks()[t].id, "cosine": c })),
            "thresholds": { "score": MIN_SCORE, "timbre": MIN_TIMBRE },
        });
        println!("{out}");
        return Ok(());
    }
    let Some((l, upload_is_part, _)) = found.first() else {
        let near = nearest
            .map(|(c, t)| format!(" (nearest: {}, cosine {c:.2})", index.tracks()[t].id))
            .unwrap_or_default();
        println!(
            "{}: not a version of any catalog track{near}",
            file.display()
        );
        return Ok(());
    };
    let t = track(l, *upload_is_part);
    let others = if found.len() > 1 {
        format!(" (and {} more)", found.len() - 1)
    } else {
        String::new()
    };
    // Either way, the span is where the shorter lies in the longer.
    let span = format!("{}–{}", clock(l.whole_span.0), clock(l.whole_span.1));
    let relation = if *upload_is_part {
        format!("a version of {} ({}): it is {span} of it", t.id, t.title)
    } else {
        format!("contains {} ({}), at {span} of the upload", t.id, t.title)
    };
    println!(
        "{}: {relation}, tempo ×{:.3}, pitch {:+.1} st, score {:.2} (a version from {MIN_SCORE}), timbre {:.2} (from {MIN_TIMBRE}){others}",
        file.display(),
        l.tempo_ratio,
        l.pitch_semitones,
        l.score,
        l.timbre,
    );
    Ok(())
}
