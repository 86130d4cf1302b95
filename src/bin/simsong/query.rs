//! `simsong query`: search an index by audio files and/or catalog track ids.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use simsong::TrackMeta;
use simsong::browse::LookupTask;
use simsong::search::parted::SearchTask;
use simsong::search::{Reference, SearchHit, SearchRequest, TagFilter, filter_bpm, search};
use simsong::tempo::filter::TempoFilter;

use crate::index_cmd::load;
use crate::published::{LocalIndex, is_published};
use simsong::catalog::manifest::parse_tags;

#[derive(Args)]
pub struct QueryArgs {
    /// The index: a published folder (or its `index.json`), or a one-file `.idx`.
    index: PathBuf,
    /// Reference audio file(s): "more like this".
    #[arg(long = "file")]
    files: Vec<PathBuf>,
    /// Reference catalog track id(s): "more like this".
    #[arg(long = "id")]
    ids: Vec<String>,
    /// Catalog track id(s): "less like this".
    #[arg(long = "not-id")]
    not_ids: Vec<String>,
    /// Audio file(s): "less like this".
    #[arg(long = "not-file")]
    not_files: Vec<PathBuf>,
    /// Search by a part of the --file reference only, from this time (`m:ss`, `h:mm:ss` or
    /// seconds; default its start). Needs exactly one --file.
    #[arg(long, value_parser = parse_time)]
    from: Option<f64>,
    /// ... up to this time (default its end).
    #[arg(long, value_parser = parse_time)]
    to: Option<f64>,
    /// Keep only tracks with this catalog tag (`category:value`; values of one category are
    /// any-of, categories all-of). Repeatable.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Same as --tag, for the model's predicted tags (e.g. `instrument:piano`).
    #[arg(long = "predicted")]
    predicted: Vec<String>,
    /// Invert the tag filter: only tracks *outside* the given tags.
    #[arg(long)]
    outside: bool,
    /// Keep only tracks whose predicted tempo is in this range, in BPM (`90-110`, `90-`, `-110`).
    #[arg(long, value_parser = parse_bpm_range, allow_hyphen_values = true)]
    bpm: Option<(Option<f32>, Option<f32>)>,
    /// Keep only tracks at a tempo like the first reference's (within 8%, half and double
    /// time included); the reference needs a clear tempo.
    #[arg(long)]
    similar_tempo: bool,
    /// Track ids never to return.
    #[arg(long)]
    exclude: Vec<String>,
    /// Number of results.
    #[arg(short, default_value_t = 10)]
    k: usize,
    /// Model file (ONNX) for --file references; it must be the one that built the index.
    /// The shipped model built into this binary when omitted.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Print JSON (hits with their track metadata) instead of a table.
    #[arg(long)]
    json: bool,
    /// `group`: one row per song, its other versions (cut-downs, loops, re-encodings) listed
    /// under the best-ranked one; `separate`: every version a row of its own.
    #[arg(long, value_enum, default_value_t = Versions::Group)]
    versions: Versions,
}

/// How versions of one song are shown.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Versions {
    /// One row per song.
    Group,
    /// Every version its own row.
    Separate,
}

pub fn run(args: QueryArgs) -> anyhow::Result<ExitCode> {
    if args.files.is_empty() && args.ids.is_empty() {
        bail!("give at least one reference: --file AUDIO or --id TRACK_ID");
    }
    let part = (args.from.is_some() || args.to.is_some())
        .then(|| (args.from.unwrap_or(0.0), args.to.unwrap_or(f64::MAX)));
    if part.is_some() && args.files.len() != 1 {
        bail!("--from / --to choose a part of one song: give exactly one --file");
    }
    let mut request = SearchRequest {
        k: args.k,
        exclude: args.exclude.clone(),
        filter: TagFilter {
            catalog: parse_tags(&args.tags.join(";"))?,
            predicted: parse_tags(&args.predicted.join(";"))?,
            outside: args.outside,
            tempo: TempoFilter {
                min_bpm: args.bpm.and_then(|r| r.0),
                max_bpm: args.bpm.and_then(|r| r.1),
                near_bpm: None,
            },
        },
        group_versions: args.versions == Versions::Group,
        ..Default::default()
    };
    request
        .positive
        .extend(args.ids.iter().cloned().map(Reference::Track));
    request
        .negative
        .extend(args.not_ids.iter().cloned().map(Reference::Track));
    let published = is_published(&args.index);
    // The first positive reference's clear tempo (for --similar-tempo), named.
    let mut reference_tempo: Option<(String, Option<f32>)> = None;
    let mut local = None;
    let mut exact = None;
    let (model_sha, model_name) = if published {
        let l = LocalIndex::open(&args.index)?;
        let m = l.index.manifest().model.clone();
        local = Some(l);
        (m.sha256, m.name)
    } else {
        let index = load(&args.index)?;
        let h = index.header().clone();
        exact = Some(index);
        (h.model_sha256, h.model_name)
    };
    if !args.files.is_empty() || !args.not_files.is_empty() {
        let engine = crate::load_engine(args.model.as_deref())?;
        if engine.model_sha256() != model_sha {
            return Err(simsong::Error::IndexModelMismatch {
                index_model: format!("{model_name} ({})", &model_sha[..12.min(model_sha.len())]),
                loaded_model: engine.model_metadata().name.clone(),
            }
            .into());
        }
        for (files, list, positive) in [
            (&args.files, &mut request.positive, true),
            (&args.not_files, &mut request.negative, false),
        ] {
            for file in files {
                let analysis = engine
                    .analyze_path(file)
                    .with_context(|| format!("{}", file.display()))?;
                if positive && reference_tempo.is_none() {
                    reference_tempo =
                        Some((file.display().to_string(), analysis.tempo.clear_bpm()));
                }
                let embedding = match part {
                    Some((from, to)) if positive => {
                        let seconds = engine.params().patch_seconds();
                        let (e, n) = analysis
                            .embedding_between(seconds, from, to)
                            .with_context(|| format!("{}", file.display()))?;
                        eprintln!(
                            "searching by {} segment{} of {} between {} and {}",
                            n,
                            if n == 1 { "" } else { "s" },
                            file.display(),
                            clock(from),
                            clock(to.min(analysis.source.duration_seconds()))
                        );
                        e
                    }
                    _ => analysis.embedding,
                };
                list.push(Reference::Embedding(embedding));
            }
        }
    }
    if args.similar_tempo {
        let (name, bpm) = match (&reference_tempo, args.ids.first()) {
            // --id references come first in the request, so the first of them leads.
            (_, Some(id)) => (
                format!("track `{id}`"),
                track_tempo(id, local.as_mut(), exact.as_ref())?,
            ),
            (Some(t), None) => t.clone(),
            (None, None) => unreachable!("a reference was required above"),
        };
        let bpm = bpm.with_context(|| {
            format!("--similar-tempo: {name} has no clear tempo to compare with")
        })?;
        eprintln!("similar tempo: {bpm:.1} BPM (within 8%, half and double time included)");
        request.filter.tempo.near_bpm = Some(bpm);
    }
    let rows: Vec<(SearchHit, Option<TrackMeta>)> = if let Some(local) = local.as_mut() {
        let mut task = SearchTask::new(request)?;
        let outcome = local.run(|index| task.step(index))?;
        for note in &outcome.notes {
            eprintln!("note: {note}");
        }
        outcome.hits.into_iter().map(|h| (h.hit, h.track)).collect()
    } else {
        let index = exact.as_ref().expect("one of the two");
        search(index, &request)?
            .into_iter()
            .map(|h| {
                let track = index.tracks()[h.position].clone();
                (h, Some(track))
            })
            .collect()
    };
    let hits: Vec<&SearchHit> = rows.iter().map(|(h, _)| h).collect();
    if args.json {
        let rows: Vec<_> = rows
            .iter()
            .map(|(h, t)| serde_json::json!({ "hit": h, "track": t }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:>4}  {:>6}  {:>7}  {:<28}  {:<24}  predicted",
            "rank", "score", "at", "title", "collection"
        );
        for (rank, (h, t)) in rows.iter().enumerate() {
            let unknown = TrackMeta {
                title: "(details unavailable)".into(),
                ..Default::default()
            };
            let t = t.as_ref().unwrap_or(&unknown);
            let at = h
                .best_segment_seconds
                .map(|s| format!("{}:{:02}", (s / 60.0) as u32, (s % 60.0) as u32))
                .unwrap_or_default();
            let mut predicted: Vec<String> = t.predicted.values().flatten().cloned().collect();
            if let Some(bpm) = t.tempo.and_then(|t| t.clear_bpm()) {
                predicted.push(format!("{bpm:.0} BPM"));
            }
            println!(
                "{:>4}  {:>6.3}  {:>7}  {:<28}  {:<24}  {}",
                rank + 1,
                h.score,
                at,
                clip(&t.title, 28),
                clip(&t.collection, 24),
                predicted.join(",")
            );
            if !h.versions.is_empty() {
                let names: Vec<String> = h
                    .versions
                    .iter()
                    .map(|v| match &v.title {
                        Some(title) => format!("{title} ({})", v.id),
                        None => v.id.clone(),
                    })
                    .collect();
                println!(
                    "{:>23}+{} version{}: {}",
                    "",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", ")
                );
            }
        }
    }
    if hits.is_empty() {
        eprintln!("no track passes the filters");
    }
    Ok(ExitCode::SUCCESS)
}

/// The clear predicted tempo of the catalog track `id`, as filters see it.
fn track_tempo(
    id: &str,
    local: Option<&mut LocalIndex>,
    exact: Option<&simsong::CatalogIndex>,
) -> anyhow::Result<Option<f32>> {
    let track = match (local, exact) {
        (Some(local), _) => {
            let mut lookup = LookupTask::new(vec![id.to_string()]);
            let rows = local.run(|index| lookup.step(index))?;
            rows.into_iter().next().flatten().and_then(|r| r.track)
        }
        (None, Some(index)) => index.position(id).map(|p| index.tracks()[p].clone()),
        (None, None) => None,
    };
    let track = track.ok_or_else(|| simsong::Error::UnknownTrack(id.to_string()))?;
    Ok(filter_bpm(&track))
}

/// `90-110`, `90-` or `-110` (BPM) → (slowest, fastest).
fn parse_bpm_range(text: &str) -> Result<(Option<f32>, Option<f32>), String> {
    let (lo, hi) = text
        .split_once('-')
        .ok_or_else(|| format!("`{text}` is not a BPM range such as 90-110"))?;
    let bound = |t: &str| -> Result<Option<f32>, String> {
        let t = t.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<f32>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(Some)
            .ok_or_else(|| format!("`{t}` is not a positive number of BPM"))
    };
    let range = (bound(lo)?, bound(hi)?);
    if range == (None, None) {
        return Err("give at least one bound, e.g. 90-110 or 90-".into());
    }
    if let (Some(l), Some(h)) = range
        && l > h
    {
        return Err(format!("the range {l}-{h} is reversed"));
    }
    Ok(range)
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// A time in a song: `m:ss`, `h:mm:ss` or seconds (fractions allowed), in seconds.
fn parse_time(text: &str) -> Result<f64, String> {
    let mut seconds = 0.0;
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() > 3 {
        return Err(format!("`{text}` is not a time (m:ss, h:mm:ss or seconds)"));
    }
    for (i, part) in parts.iter().enumerate() {
        let v: f64 = part
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("`{text}` is not a time (m:ss, h:mm:ss or seconds)"))?;
        if i > 0 && v >= 60.0 {
            return Err(format!(
                "`{text}`: minutes and seconds after a `:` are below 60"
            ));
        }
        seconds = seconds * 60.0 + v;
    }
    Ok(seconds)
}

/// Seconds as `m:ss.s`.
fn clock(seconds: f64) -> String {
    format!("{}:{:04.1}", (seconds / 60.0).floor(), seconds % 60.0)
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times() {
        assert_eq!(parse_time("0:30"), Ok(30.0));
        assert_eq!(parse_time("1:02:03.5"), Ok(3723.5));
        assert_eq!(parse_time("45.25"), Ok(45.25));
        assert!(parse_time("1:75").is_err());
        assert!(parse_time("-3").is_err());
        assert!(parse_time("a:b").is_err());
        assert!(parse_time("1:2:3:4").is_err());
    }
}
