//! `simsong`: the command-line tool. It runs the same library code as the browser build.

mod delta;
mod embed;
mod eval;
mod features;
mod import;
mod index_cmd;
mod manifest;
mod mel;
mod progress;
mod published;
mod query;

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
    /// Write a picture of a file's log-mel spectrogram.
    Mel(mel::MelArgs),
    /// Measure a model against a 20-MFCC baseline on a labelled held-out split.
    Eval(eval::EvalArgs),
    /// Show a model's metadata (analysis numbers, embedding size, heads).
    ModelInfo {
        /// ONNX model file.
        #[arg(long, default_value = DEFAULT_MODEL)]
        model: PathBuf,
    },
}

/// Where the shipped model lives in the repository.
pub const DEFAULT_MODEL: &str = "models/simsong.onnx";

fn main() -> ExitCode {
    // `simsong index info X | head` must end quietly, like other Unix tools, instead of
    // panicking when stdout closes: restore the default SIGPIPE action (Rust ignores it).
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Embed(args) => embed::run(args),
        Command::Features(args) => features::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Index(command) => index_cmd::run(command),
        Command::Query(args) => query::run(args),
        Command::Mel(args) => mel::run(args),
        Command::ModelInfo { model } => load_engine(&model).and_then(|engine| {
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

/// Loads the model at `path` into an engine, warning loudly when it is an untrained fixture.
pub fn load_engine(path: &std::path::Path) -> anyhow::Result<simsong::Engine> {
    use anyhow::Context;
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read model {} (pass --model PATH to use another)",
            path.display()
        )
    })?;
    let engine = simsong::Engine::from_model_bytes(&bytes)
        .with_context(|| format!("model {}", path.display()))?;
    if !engine.model_metadata().trained {
        eprintln!(
            "warning: model `{}` is an untrained test fixture; its embeddings mean nothing musically",
            engine.model_metadata().name
        );
    }
    Ok(engine)
}
