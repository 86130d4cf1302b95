//! `simsong index build|add|remove|info`: catalog indexes from manifests or folders.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use rayon::prelude::*;
use simsong::index::{DEFAULT_MAX_SEGMENTS, Precision, Tags};
use simsong::{CatalogIndex, Engine, TrackAnalysis};

use crate::manifest::{Entry, read_folder, read_manifest};
use crate::progress::files_bar;

/// A head's classes at or above this mean probability become predicted tags.
pub const PREDICTED_TAG_MIN_PROBABILITY: f32 = 0.35;

#[derive(Subcommand)]
pub enum IndexCommand {
    /// Build a new index from a manifest or a folder of audio.
    Build(BuildArgs),
    /// Add tracks to an existing index (same model), without rebuilding it.
    Add(AddArgs),
    /// Remove tracks by id.
    Remove {
        /// The index file (rewritten in place).
        index: PathBuf,
        /// Track ids to remove.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Show an index's header, size and tag counts.
    Info {
        /// The index file.
        index: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Where the tracks come from.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct Source {
    /// Manifest (.csv, .tsv or .json; columns: id, audio, title, collection, composer, tags,
    /// license, attribution, preview_url).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Folder of audio files (ids are relative paths, collections the parent folders).
    #[arg(long)]
    folder: Option<PathBuf>,
}

#[derive(Args)]
pub struct BuildArgs {
    #[command(flatten)]
    source: Source,
    /// Output index file.
    #[arg(long)]
    out: PathBuf,
    /// ONNX model.
    #[arg(long, default_value = crate::DEFAULT_MODEL)]
    model: PathBuf,
    /// Storage of track embeddings: f32 (exact) or int8 (4× smaller; recall@10 against f32
    /// 0.99 on realistic clustered data, see BENCHMARKS.md): worth it from ~100k tracks.
    #[arg(long, default_value = "f32")]
    precision: Precision,
    /// Most segment embeddings kept per track (for best-segment search).
    #[arg(long, default_value_t = DEFAULT_MAX_SEGMENTS)]
    max_segments: usize,
}

#[derive(Args)]
pub struct AddArgs {
    /// The index file (rewritten in place).
    index: PathBuf,
    #[command(flatten)]
    source: Source,
    /// ONNX model (must be the one that built the index).
    #[arg(long, default_value = crate::DEFAULT_MODEL)]
    model: PathBuf,
    /// Most segment embeddings kept per track.
    #[arg(long, default_value_t = DEFAULT_MAX_SEGMENTS)]
    max_segments: usize,
}

pub fn run(command: IndexCommand) -> anyhow::Result<ExitCode> {
    match command {
        IndexCommand::Build(args) => {
            let engine = crate::load_engine(&args.model)?;
            let mut index = CatalogIndex::new(
                engine.model_metadata(),
                engine.model_sha256(),
                args.precision,
            );
            let entries = read_source(&args.source)?;
            let failed = add_entries(&engine, &mut index, entries, args.max_segments)?;
            save(&index, &args.out)?;
            finish(failed)
        }
        IndexCommand::Add(args) => {
            let mut index = load(&args.index)?;
            let engine = crate::load_engine(&args.model)?;
            index.ensure_model(engine.model_sha256(), &engine.model_metadata().name)?;
            let entries = read_source(&args.source)?;
            let failed = add_entries(&engine, &mut index, entries, args.max_segments)?;
            save(&index, &args.index)?;
            finish(failed)
        }
        IndexCommand::Remove { index: path, ids } => {
            let mut index = load(&path)?;
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let removed = index.remove(&refs);
            save(&index, &path)?;
            eprintln!("removed {removed} of {} ids", ids.len());
            Ok(if removed == ids.len() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        IndexCommand::Info { index: path, json } => {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let index = CatalogIndex::from_bytes(&bytes)
                .with_context(|| format!("index {}", path.display()))?;
            print_info(&index, bytes.len(), json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads and validates an index file.
pub fn load(path: &Path) -> anyhow::Result<CatalogIndex> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    CatalogIndex::from_bytes(&bytes).with_context(|| format!("index {}", path.display()))
}

/// Writes atomically (temporary file + rename), so a failure never leaves half an index.
fn save(index: &CatalogIndex, path: &Path) -> anyhow::Result<()> {
    let bytes = index.to_bytes()?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "wrote {} ({} tracks, {:.1} MB)",
        path.display(),
        index.len(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}

fn read_source(source: &Source) -> anyhow::Result<Vec<Entry>> {
    let entries = match (&source.manifest, &source.folder) {
        (Some(m), _) => read_manifest(m)?,
        (_, Some(f)) => read_folder(f)?,
        _ => bail!("give --manifest or --folder"),
    };
    if entries.is_empty() {
        bail!("no tracks to index");
    }
    Ok(entries)
}

/// Analyses entries in parallel and adds them in manifest order; returns how many failed.
fn add_entries(
    engine: &Engine,
    index: &mut CatalogIndex,
    entries: Vec<Entry>,
    max_segments: usize,
) -> anyhow::Result<usize> {
    let started = Instant::now();
    let bar = files_bar(entries.len(), "indexing");
    let analysed: Vec<_> = entries
        .into_par_iter()
        .map(|entry| {
            let result = engine.analyze_path(&entry.audio).map(|mut a| {
                // The display spectrogram is not needed here; drop it early to bound memory.
                a.overview.mel = simsong::mel::MelSpectrogram::from_frames(1, Vec::new());
                a
            });
            bar.inc(1);
            (entry, result)
        })
        .collect();
    bar.finish_and_clear();
    let mut failed = 0;
    let mut audio_seconds = 0.0;
    for (mut entry, result) in analysed {
        let analysis = match result {
            Ok(a) => a,
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e}", entry.audio.display());
                continue;
            }
        };
        let duration = analysis.source.frames as f64 / f64::from(analysis.source.sample_rate_hz);
        audio_seconds += duration;
        entry.meta.duration_seconds = duration as f32;
        entry.meta.predicted = predicted_tags(&analysis);
        if let Err(e) = index.add_track(entry.meta, &analysis, max_segments) {
            failed += 1;
            eprintln!("{}: {e}", entry.audio.display());
        }
    }
    let wall = started.elapsed().as_secs_f64();
    // bench/indexing_bench.mjs parses this line.
    eprintln!(
        "analysed {audio_seconds:.1} s of audio in {wall:.2} s: {:.0}× real time on {} threads",
        audio_seconds / wall.max(1e-9),
        rayon::current_num_threads()
    );
    Ok(failed)
}

/// Classes each head gives at least [`PREDICTED_TAG_MIN_PROBABILITY`], most likely first.
pub fn predicted_tags(analysis: &TrackAnalysis) -> Tags {
    let mut tags = Tags::new();
    for head in &analysis.heads {
        let mut classes: Vec<(f32, &String)> = head
            .probabilities
            .iter()
            .copied()
            .zip(&head.classes)
            .filter(|(p, _)| *p >= PREDICTED_TAG_MIN_PROBABILITY)
            .collect();
        classes.sort_by(|a, b| b.0.total_cmp(&a.0));
        if !classes.is_empty() {
            tags.insert(
                head.output.clone(),
                classes.into_iter().map(|(_, c)| c.clone()).collect(),
            );
        }
    }
    tags
}

fn finish(failed: usize) -> anyhow::Result<ExitCode> {
    if failed > 0 {
        eprintln!("{failed} tracks could not be indexed (listed above); the others were");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_info(index: &CatalogIndex, file_bytes: usize, json: bool) -> anyhow::Result<()> {
    let h = index.header();
    let segments = index.segments().starts_seconds.len();
    if json {
        let value = serde_json::json!({
            "header": h,
            "tracks": index.len(),
            "segments": segments,
            "precision": index.embeddings().precision(),
            "fileBytes": file_bytes,
            "tags": index.tag_counts(false),
            "predictedTags": index.tag_counts(true),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("tracks:     {} ({} segments)", index.len(), segments);
    println!(
        "model:      {} (sha256 {}){}",
        h.model_name,
        h.model_sha256,
        if h.model_trained {
            ""
        } else {
            ", UNTRAINED test fixture"
        }
    );
    println!(
        "embeddings: {} values, {:?}",
        h.embedding_dim,
        index.embeddings().precision()
    );
    println!("file:       {:.2} MB", file_bytes as f64 / 1e6);
    println!("analysis:   {}", serde_json::to_string(&h.analysis)?);
    println!("created by: {}", h.created_by);
    for (label, predicted) in [("tags", false), ("predicted tags", true)] {
        for (category, values) in index.tag_counts(predicted) {
            let list: Vec<String> = values.iter().map(|(v, n)| format!("{v} ({n})")).collect();
            println!("{label} {category}: {}", list.join(", "));
        }
    }
    Ok(())
}
