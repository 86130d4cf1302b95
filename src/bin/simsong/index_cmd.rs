//! `simsong index build|add|remove|info`: catalog indexes from manifests or folders.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use simsong::catalog::build::{BuildOptions, BuildReport, ShardSpec};
use simsong::catalog::files::{load_index_file, save_index_file};
use simsong::catalog::{Entry, read_folder, read_manifest};
use simsong::index::publish::PartSizes;
use simsong::index::train::QuantizerShape;
use simsong::index::{DEFAULT_MAX_SEGMENTS, Precision};
use simsong::versions::audit::AuditScope;
use simsong::{CatalogIndex, Engine};

use crate::progress::files_bar;
use crate::published::{self, is_published};

#[derive(Subcommand)]
pub enum IndexCommand {
    /// Build an index from a manifest or a folder of audio. `--out DIR` publishes it for the
    /// web (format 3: a manifest and parts); `--out FILE.idx` writes one full-precision file
    /// (format 1: for shards, small catalogs and the CLI).
    Build(BuildArgs),
    /// Join one-file shards (from `build --shard`) into one index: `--out DIR` publishes it
    /// (training the codebooks), `--out FILE.idx` writes one file. Also publishes a single
    /// one-file index.
    Merge(MergeArgs),
    /// Build a one-file index from embeddings computed elsewhere (`.npy`, n × dim float32)
    /// and their tracks (JSON lines of track metadata), e.g. by a distributed job.
    Import(ImportArgs),
    /// Write a one-file index's embeddings (`.npy`) and tracks (JSON lines), as `import`
    /// reads them.
    Export {
        /// The one-file index.
        index: PathBuf,
        /// Output `.npy` of the track embeddings (n × dim float32).
        #[arg(long)]
        embeddings: PathBuf,
        /// Output JSON lines of the tracks' metadata.
        #[arg(long)]
        tracks: PathBuf,
    },
    /// Add tracks to an index (same model). On a published index this writes a delta
    /// generation coded with the existing codebooks; the parts already published stay.
    Add(AddArgs),
    /// Remove tracks by id. On a published index this writes a small delta generation.
    Remove {
        /// The index (a published folder or a one-file `.idx`), changed in place.
        index: PathBuf,
        /// Track ids to remove.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Removing from a published index: the one-file index it was published from (see
        /// `index add --catalog`), from which the tracks are removed too.
        #[arg(long)]
        catalog: Option<PathBuf>,
    },
    /// Retrain the codebooks of a published index on its current tracks and fold its delta
    /// generations into a new base (pages then fetch the whole index again).
    RebuildCodes(RebuildArgs),
    /// List a one-file index's version groups (cut-downs, loops, re-encodings… of one song),
    /// found by the audit after build, merge and add, or declared (`version_of`).
    Versions(crate::versions_cmd::VersionsArgs),
    /// Show an index's header, size, parts and tag counts.
    Info {
        /// The index (a published folder, its `index.json`, or a one-file `.idx`).
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

/// How a published index is coded and cut.
#[derive(Args, Clone, Copy)]
pub struct PublishArgs {
    /// Code bytes per track in the codes part (product-quantiser slices; a divisor of the
    /// embedding size).
    #[arg(long, default_value_t = 32)]
    code_bytes: usize,
    /// Tracks per metadata shard.
    #[arg(long, default_value_t = PartSizes::default().meta_shard_tracks)]
    meta_shard_tracks: u32,
    /// Rows per re-ranking block.
    #[arg(long, default_value_t = PartSizes::default().rerank_block_rows)]
    rerank_block_rows: u32,
    /// Neighbours listed per track for "Similar" without the codes (0: no lists; then
    /// every search reads the codes). Deltas keep the index's choice.
    #[arg(long, default_value_t = PartSizes::default().neighbours)]
    neighbours: u32,
}

impl PublishArgs {
    fn shape(&self) -> QuantizerShape {
        QuantizerShape {
            code_bytes: self.code_bytes,
            ..QuantizerShape::default()
        }
    }

    fn sizes(&self) -> PartSizes {
        PartSizes {
            meta_shard_tracks: self.meta_shard_tracks.max(1),
            rerank_block_rows: self.rerank_block_rows.max(1),
            neighbours: self.neighbours.min(1024),
        }
    }
}

#[derive(Args)]
pub struct BuildArgs {
    #[command(flatten)]
    source: Source,
    /// Output: a folder (published index) or a `.idx` file (one-file index).
    #[arg(long)]
    out: PathBuf,
    /// Index only share I of N of the tracks (`--shard 3/8`: the 4th of 8 contiguous shares
    /// of the manifest) into a one-file shard, for `index merge`.
    #[arg(long)]
    shard: Option<ShardSpec>,
    /// Model file (ONNX); the shipped model built into this binary when omitted.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Storage of track embeddings in a one-file index: f32 (exact) or int8 (4× smaller).
    #[arg(long, default_value = "f32")]
    precision: Precision,
    /// Most segment embeddings kept per track (for best-segment search).
    #[arg(long, default_value_t = DEFAULT_MAX_SEGMENTS)]
    max_segments: usize,
    #[command(flatten)]
    publish: PublishArgs,
}

#[derive(Args)]
pub struct MergeArgs {
    /// One-file indexes (shards), joined in the order given.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output: a folder (published index) or a `.idx` file.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    publish: PublishArgs,
}

#[derive(Args)]
pub struct ImportArgs {
    /// Track embeddings, `.npy` float32 of shape (tracks, dim), in the order of `--tracks`.
    #[arg(long)]
    embeddings: PathBuf,
    /// Track metadata, one JSON object per line (`id`, `title`, `collection`, `composer`,
    /// `tags`, `predicted`, `durationSeconds`, `previewUrl`, `license`, `attribution`).
    #[arg(long)]
    tracks: PathBuf,
    /// Output: a folder (published index) or a `.idx` file.
    #[arg(long)]
    out: PathBuf,
    /// The model that computed the embeddings (its hash and numbers go into the index); the
    /// shipped model built into this binary when omitted.
    #[arg(long)]
    model: Option<PathBuf>,
    /// For synthetic catalogs (benchmarks, demos without audio): give each track this many
    /// segment embeddings scattered around its embedding.
    #[arg(long, default_value_t = 0, hide = true)]
    synthetic_segments: usize,
    #[command(flatten)]
    publish: PublishArgs,
}

#[derive(Args)]
pub struct AddArgs {
    /// The index (a published folder or a one-file `.idx`), changed in place.
    index: PathBuf,
    #[command(flatten)]
    source: AddSource,
    /// Model file (ONNX); it must be the one that built the index. The shipped model built
    /// into this binary when omitted.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Most segment embeddings kept per track.
    #[arg(long, default_value_t = DEFAULT_MAX_SEGMENTS)]
    max_segments: usize,
    /// Adding to a published index: the one-file index it was published from (it holds the
    /// published tracks' fingerprints). The new tracks are audited against it, those that are
    /// versions of published tracks join their songs' groups, and it is saved with the new
    /// tracks. Without it, new tracks join published groups only where `version_of` says so.
    #[arg(long)]
    catalog: Option<PathBuf>,
}

/// Where added tracks come from: audio, or tracks already embedded (a one-file index from
/// `index build --shard` or `index import`).
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct AddSource {
    /// Manifest of audio to analyse (as for `index build`).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Folder of audio files.
    #[arg(long)]
    folder: Option<PathBuf>,
    /// A one-file index of the tracks to add (same model).
    #[arg(long)]
    from: Option<PathBuf>,
}

#[derive(Args)]
pub struct RebuildArgs {
    /// The published index (folder), rewritten in place.
    index: PathBuf,
    /// Keep the current codebooks (only fold the deltas and drop removed tracks).
    #[arg(long)]
    keep_codebooks: bool,
    #[command(flatten)]
    publish: PublishArgs,
}

pub fn run(command: IndexCommand) -> anyhow::Result<ExitCode> {
    match command {
        IndexCommand::Build(args) => {
            let engine = crate::load_engine(args.model.as_deref())?;
            let mut entries = read_source(&args.source)?;
            if let Some(shard) = args.shard {
                if is_published(&args.out) {
                    bail!("a shard is a one-file index: give --out SHARD.idx (then `index merge`)");
                }
                entries = shard.select(entries);
                eprintln!(
                    "shard {}/{}: {} tracks",
                    shard.index,
                    shard.count,
                    entries.len()
                );
            }
            let options = BuildOptions {
                shard: None,
                precision: args.precision,
                max_segments: args.max_segments,
                threads: 0,
            };
            let bar = files_bar(entries.len(), "indexing");
            let (mut index, report) =
                simsong::catalog::build_index(&engine, entries, options, &|| bar.inc(1))?;
            bar.finish_and_clear();
            let failed = print_report(&report);
            // A shard is audited once joined with the others (`index merge`), so that the
            // links are those of one machine's build.
            if args.shard.is_none() {
                crate::versions_cmd::audit_into(&mut index, AuditScope::All)?;
            }
            write_out(index, &args.out, args.publish)?;
            finish(failed)
        }
        IndexCommand::Merge(args) => {
            let mut merged = load(&args.inputs[0])?;
            for path in &args.inputs[1..] {
                let shard = load(path)?;
                merged
                    .append(&shard)
                    .with_context(|| format!("cannot merge {}", path.display()))?;
            }
            eprintln!(
                "merged {} tracks from {} inputs",
                merged.len(),
                args.inputs.len()
            );
            crate::versions_cmd::audit_into(&mut merged, AuditScope::All)?;
            write_out(merged, &args.out, args.publish)?;
            Ok(ExitCode::SUCCESS)
        }
        IndexCommand::Import(args) => {
            let mut index = crate::import::import(
                &args.embeddings,
                &args.tracks,
                args.model.as_deref(),
                args.synthetic_segments,
            )?;
            // No audio, so no fingerprints: only the versions the store declares.
            crate::versions_cmd::audit_into(&mut index, AuditScope::All)?;
            write_out(index, &args.out, args.publish)?;
            Ok(ExitCode::SUCCESS)
        }
        IndexCommand::Export {
            index,
            embeddings,
            tracks,
        } => {
            crate::import::export(&load(&index)?, &embeddings, &tracks)?;
            Ok(ExitCode::SUCCESS)
        }
        IndexCommand::Add(args) => {
            let published = is_published(&args.index);
            if !published && args.catalog.is_some() {
                bail!(
                    "--catalog is for adding to a published index; a one-file index is its own catalog"
                );
            }
            let (added, failed) = if let Some(from) = &args.source.from {
                (load(from)?, 0)
            } else {
                let engine = crate::load_engine(args.model.as_deref())?;
                let source = Source {
                    manifest: args.source.manifest.clone(),
                    folder: args.source.folder.clone(),
                };
                let mut entries = read_source(&source)?;
                let mut failed = 0;
                if published {
                    // Tracks already in the index are not analysed again.
                    let existing = crate::delta::existing_ids(&args.index)?;
                    entries.retain(|e| {
                        let fresh = !existing.contains(&e.meta.id);
                        if !fresh {
                            eprintln!(
                                "{}: track id `{}` is already in the index",
                                e.audio.display(),
                                e.meta.id
                            );
                            failed += 1;
                        }
                        fresh
                    });
                }
                let mut added = CatalogIndex::new(
                    engine.model_metadata(),
                    engine.model_sha256(),
                    Precision::F32,
                );
                if !entries.is_empty() {
                    failed += add_entries(&engine, &mut added, entries, args.max_segments)?;
                }
                (added, failed)
            };
            if added.is_empty() {
                eprintln!("nothing to add");
                return finish(failed.max(1));
            }
            if published {
                crate::delta::add(&args.index, added, args.catalog.as_deref())?;
            } else {
                let mut index = load(&args.index)?;
                let first_new = index.len() as u32;
                index.append(&added)?;
                crate::versions_cmd::audit_into(&mut index, AuditScope::From(first_new))?;
                save(&index, &args.index)?;
            }
            finish(failed)
        }
        IndexCommand::Remove {
            index: path,
            ids,
            catalog,
        } => {
            if is_published(&path) {
                let outcome = crate::delta::remove(&path, &ids)?;
                if let Some(catalog) = catalog {
                    let mut master = load(&catalog)?;
                    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                    let removed = master.remove(&refs);
                    save(&master, &catalog)?;
                    eprintln!(
                        "{}: removed {removed} of {} ids",
                        catalog.display(),
                        ids.len()
                    );
                }
                return Ok(outcome);
            }
            if catalog.is_some() {
                bail!(
                    "--catalog is for removing from a published index; a one-file index is its own catalog"
                );
            }
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
        IndexCommand::RebuildCodes(args) => crate::delta::rebuild_codes(
            &args.index,
            args.keep_codebooks,
            args.publish.shape(),
            args.publish.sizes(),
        ),
        IndexCommand::Versions(args) => crate::versions_cmd::versions(args),
        IndexCommand::Info { index: path, json } => {
            if is_published(&path) {
                return crate::delta::info(&path, json);
            }
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let index = CatalogIndex::from_bytes(&bytes)
                .with_context(|| format!("index {}", path.display()))?;
            crate::info::print_info(&index, bytes.len(), json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes `index` to `out`: a published folder (training the codebooks; `index` is dropped
/// once its parts are cut) or a one-file index.
fn write_out(index: CatalogIndex, out: &Path, publish: PublishArgs) -> anyhow::Result<()> {
    if !is_published(out) {
        return save(&index, out);
    }
    let tracks = index.len();
    let dir = published::folder(out);
    let published = published::publish_catalog(index, publish.shape(), publish.sizes(), &dir)?;
    eprintln!(
        "published {} ({tracks} tracks, {} parts, {:.1} MB)",
        dir.display(),
        published.parts.len(),
        published::parts_bytes(&published) as f64 / 1e6
    );
    Ok(())
}

/// Loads and validates an index file.
pub fn load(path: &Path) -> anyhow::Result<CatalogIndex> {
    Ok(load_index_file(path)?)
}

/// Writes a one-file index atomically.
pub fn save(index: &CatalogIndex, path: &Path) -> anyhow::Result<()> {
    let bytes = save_index_file(index, path)?;
    eprintln!(
        "wrote {} ({} tracks, {:.1} MB)",
        path.display(),
        index.len(),
        bytes as f64 / 1e6
    );
    Ok(())
}

pub fn read_source(source: &Source) -> anyhow::Result<Vec<Entry>> {
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

/// Analyses entries in parallel (all cores) and adds them in manifest order; returns how many
/// failed (each named on stderr).
pub fn add_entries(
    engine: &Engine,
    index: &mut CatalogIndex,
    entries: Vec<Entry>,
    max_segments: usize,
) -> anyhow::Result<usize> {
    let bar = files_bar(entries.len(), "indexing");
    let report =
        simsong::catalog::build::add_entries(engine, index, entries, max_segments, 0, &|| {
            bar.inc(1)
        })?;
    bar.finish_and_clear();
    Ok(print_report(&report))
}

/// Names each failed track on stderr, then the throughput; returns how many failed.
fn print_report(report: &BuildReport) -> usize {
    for failure in &report.failures {
        eprintln!("{}: {}", failure.audio.display(), failure.message);
    }
    // bench/indexing_bench.mjs parses this line.
    eprintln!(
        "analysed {:.1} s of audio in {:.2} s: {:.0}× real time on {} threads",
        report.audio_seconds,
        report.wall_seconds,
        report.real_time_factor(),
        report.threads
    );
    report.failures.len()
}

pub fn finish(failed: usize) -> anyhow::Result<ExitCode> {
    if failed > 0 {
        eprintln!("{failed} tracks could not be indexed (listed above); the others were");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
