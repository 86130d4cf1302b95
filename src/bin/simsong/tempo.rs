//! `simsong tempo FILES`: each file's tempo (BPM and confidence, and sections where it
//! changes), from the same front end the index and the browser use.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use rayon::prelude::*;
use simsong::AnalysisParams;
use simsong::frontend::FrontEnd;
use simsong::tempo::TempoEstimate;

use crate::progress::files_bar;

#[derive(Args)]
pub struct TempoArgs {
    /// Audio files (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One JSON object per file (`path`, `bpm` or null when unclear, `confidence`,
    /// `candidateBpm`, `sections`) instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: TempoArgs) -> anyhow::Result<ExitCode> {
    let front = FrontEnd::new(AnalysisParams::CURRENT)?;
    let bar = files_bar(args.files.len(), "tempo");
    let results: Vec<_> = args
        .files
        .par_iter()
        .map(|path| {
            let r = front.features_from_path(path).map(|f| f.tempo);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    let mut failed = 0;
    for (path, result) in args.files.iter().zip(results) {
        match result {
            Ok(tempo) if args.json => println!("{}", json_line(path, &tempo)),
            Ok(tempo) => println!("{}\t{}", path.display(), describe(&tempo)),
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e}", path.display());
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `"120.3 BPM (confidence 0.62)"`, `"no clear tempo (confidence 0.08)"`, with sections.
pub fn describe(tempo: &TempoEstimate) -> String {
    let Some(bpm) = tempo.clear_bpm() else {
        return format!("no clear tempo (confidence {:.2})", tempo.confidence);
    };
    let mut text = format!("{bpm:.1} BPM (confidence {:.2})", tempo.confidence);
    for s in &tempo.sections {
        text.push_str(&format!(
            "; {:.0}–{:.0} s: {:.1} BPM",
            s.start_seconds, s.end_seconds, s.bpm
        ));
    }
    text
}

fn json_line(path: &std::path::Path, tempo: &TempoEstimate) -> String {
    serde_json::json!({
        "path": path.display().to_string(),
        "bpm": tempo.clear_bpm(),
        "confidence": tempo.confidence,
        "candidateBpm": tempo.bpm,
        "sections": tempo.sections,
    })
    .to_string()
}
