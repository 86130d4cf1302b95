//! `simsong`: the command-line tool. It runs the same library code as the browser build.

mod compare;
mod delta;
mod embed;
mod eval;
mod features;
mod import;
mod index_cmd;
mod info;
mod mel;
mod progress;
mod published;
mod query;
mod tempo;
mod versions_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Similar-song search: embeddings, catalog indexes, queries and training features, natively.
#[derive(Parser)]
#[command(name = "simsong", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Embed audio files: one L2-normalised track embedding per input.
    Embed(embed::EmbedArgs),
    /// Export log-mel patches (the model's input) as .npy files, for training.
    Features(features::FeaturesArgs),
    /// Build, extend, shrink or inspect a catalog index.
    #[command(subcommand)]
    Index(index_cmd::IndexCommand),
    /// Search an index by audio files and/or catalog track ids.
    Query(query::QueryArgs),
    /// Estimate each file's tempo (beats per minute, confidence, sections where it changes).
    Tempo(tempo::TempoArgs),
    /// Write a picture of a file's log-mel spectrogram.
    Mel(mel::MelArgs),
    /// Whether one file's audio is in the other's (a version: cut-down, loop, re-encoding,
    /// a little faster or higher), where, and how.
    Compare(compare::CompareArgs),
    /// Whether each upload is a version of a catalog track (a cut-down, a loop, a
    /// re-encoding…): which one, where in it, and how sure.
    Check(versions_cmd::CheckArgs),
    /// Measure a model against a 20-MFCC baseline on a labelled held-out split.
    Eval(eval::EvalArgs),
    /// Write a model's NNEF form, the one the browser engine loads (checked to give the ONNX
    /// model's outputs, and carrying its SHA-256).
    ModelExport {
        /// Model file (ONNX); the shipped model built into this binary when omitted.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Where to write the NNEF archive (e.g. `models/simsong.nnef.tar`).
        #[arg(long)]
        out: PathBuf,
    },
    /// Show a model's metadata (analysis numbers, embedding size, heads).
    ModelInfo {
        /// Model file (ONNX); the shipped model built into this binary when omitted.
        #[arg(long)]
        model: Option<PathBuf>,
    },
}

/// The shipped model, built into the binary so that the tool works from any folder; `--model
/// PATH` replaces it.
pub const SHIPPED_MODEL: &[u8] = simsong::model::SHIPPED_ONNX;

/// `simsong --version`: the tool's version, the built-in model and the analysis numbers it was
/// trained on (those every index built with it records).
fn long_version() -> String {
    let p = simsong::params::AnalysisParams::CURRENT;
    let model = match simsong::Engine::from_model_bytes(SHIPPED_MODEL) {
        Ok(engine) => format!(
            "{} ({}-d embedding, sha256 {})",
            engine.model_metadata().name,
            engine.model_metadata().embedding_dim,
            &engine.model_sha256()[..12]
        ),
        Err(e) => format!("unusable ({e})"),
    };
    format!(
        "{}\nmodel:     {model}\nfront end: version {}, {} Hz, n_fft {}, hop {} samples, {} mel bands \
         {}-{} Hz, patches of {} frames every {} frames",
        env!("CARGO_PKG_VERSION"),
        simsong::params::FRONTEND_VERSION,
        p.sample_rate_hz,
        p.n_fft,
        p.hop_length,
        p.n_mels,
        p.fmin_hz,
        p.fmax_hz,
        p.patch_frames,
        p.patch_hop_frames,
    )
}

fn main() -> ExitCode {
    // `simsong index info X | head` must end quietly, like other Unix tools, instead of
    // panicking when stdout closes: restore the default SIGPIPE action (Rust ignores it).
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Loading the model for the version text costs ~0.1 s: only when it is asked for.
    let wants_version = std::env::args()
        .nth(1)
        .is_some_and(|a| a == "--version" || a == "-V");
    let cli = if wants_version {
        use clap::{CommandFactory, FromArgMatches};
        // clap wants a 'static text; this runs once per process.
        let version: &'static str = Box::leak(long_version().into_boxed_str());
        let matches = Cli::command().version(version).get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    } else {
        Cli::parse()
    };
    let result = match cli.command {
        Command::Embed(args) => embed::run(args),
        Command::Features(args) => features::run(args),
        Command::Tempo(args) => tempo::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Index(command) => index_cmd::run(command),
        Command::Query(args) => query::run(args),
        Command::Mel(args) => mel::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Check(args) => versions_cmd::check(args),
        Command::ModelExport { model, out } => export_model(model.as_deref(), &out),
        Command::ModelInfo { model } => load_engine(model.as_deref()).and_then(|engine| {
            let meta = engine.model_metadata();
            println!("{}", serde_json::to_string_pretty(meta)?);
            println!("sha256: {}", engine.model_sha256());
            Ok(ExitCode::SUCCESS)
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn export_model(
    model: Option<&std::path::Path>,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let onnx = match model {
        None => SHIPPED_MODEL.to_vec(),
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?
        }
    };
    let nnef = simsong::model::nnef::export_from_onnx(&onnx)?;
    std::fs::write(out, &nnef).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "{}: {} bytes (NNEF, same outputs as the ONNX model)",
        out.display(),
        nnef.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Loads the model at `path` (the built-in shipped model when `None`) into an engine, warning
/// loudly when it is an untrained fixture.
pub fn load_engine(path: Option<&std::path::Path>) -> anyhow::Result<simsong::Engine> {
    use anyhow::Context;
    let engine = match path {
        None => simsong::Engine::from_model_bytes(SHIPPED_MODEL)
            .context("the built-in model (models/simsong.onnx at build time)")?,
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read model {}", path.display()))?;
            simsong::Engine::from_model_bytes(&bytes)
                .with_context(|| format!("model {}", path.display()))?
        }
    };
    if !engine.model_metadata().trained {
        eprintln!(
            "warning: model `{}` is an untrained test fixture; its embeddings mean nothing musically",
            engine.model_metadata().name
        );
    }
    Ok(engine)
}
