//! `simsong query`: search an index by audio files and/or catalog track ids.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use simsong::search::{Reference, SearchRequest, TagFilter, search};

use crate::index_cmd::load;
use crate::manifest::parse_tags;

#[derive(Args)]
pub struct QueryArgs {
    /// The index file.
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
    /// Track ids never to return.
    #[arg(long)]
    exclude: Vec<String>,
    /// Number of results.
    #[arg(short, default_value_t = 10)]
    k: usize,
    /// ONNX model, needed for --file references (must be the one that built the index).
    #[arg(long, default_value = crate::DEFAULT_MODEL)]
    model: PathBuf,
    /// Print JSON (hits with their track metadata) instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: QueryArgs) -> anyhow::Result<ExitCode> {
    if args.files.is_empty() && args.ids.is_empty() {
        bail!("give at least one reference: --file AUDIO or --id TRACK_ID");
    }
    let index = load(&args.index)?;
    let mut request = SearchRequest {
        k: args.k,
        exclude: args.exclude.clone(),
        filter: TagFilter {
            catalog: parse_tags(&args.tags.join(";"))?,
            predicted: parse_tags(&args.predicted.join(";"))?,
            outside: args.outside,
        },
        ..Default::default()
    };
    request
        .positive
        .extend(args.ids.iter().cloned().map(Reference::Track));
    request
        .negative
        .extend(args.not_ids.iter().cloned().map(Reference::Track));
    if !args.files.is_empty() || !args.not_files.is_empty() {
        let engine = crate::load_engine(&args.model)?;
        index.ensure_model(engine.model_sha256(), &engine.model_metadata().name)?;
        for (files, list) in [
            (&args.files, &mut request.positive),
            (&args.not_files, &mut request.negative),
        ] {
            for file in files {
                let analysis = engine
                    .analyze_path(file)
                    .with_context(|| format!("{}", file.display()))?;
                list.push(Reference::Embedding(analysis.embedding));
            }
        }
    }
    let hits = search(&index, &request)?;
    let tracks = index.tracks();
    if args.json {
        let rows: Vec<_> = hits
            .iter()
            .map(|h| serde_json::json!({ "hit": h, "track": &tracks[h.position] }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:>4}  {:>6}  {:>7}  {:<28}  {:<24}  predicted",
            "rank", "score", "at", "title", "collection"
        );
        for (rank, h) in hits.iter().enumerate() {
            let t = &tracks[h.position];
            let at = h
                .best_segment_seconds
                .map(|s| format!("{}:{:02}", (s / 60.0) as u32, (s % 60.0) as u32))
                .unwrap_or_default();
            let predicted: Vec<String> = t.predicted.values().flatten().cloned().collect();
            println!(
                "{:>4}  {:>6.3}  {:>7}  {:<28}  {:<24}  {}",
                rank + 1,
                h.score,
                at,
                clip(&t.title, 28),
                clip(&t.collection, 24),
                predicted.join(",")
            );
        }
    }
    if hits.is_empty() {
        eprintln!("no track passes the filters");
    }
    Ok(ExitCode::SUCCESS)
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}
