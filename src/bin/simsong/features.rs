//! `simsong features`: log-mel patches of audio files as .npy, for training.
//!
//! Training must see exactly the product's front end, so it reads these files instead of
//! computing its own spectrograms.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;
use simsong::AnalysisParams;
use simsong::frontend::FrontEnd;

use crate::embed::csv_field;
use crate::progress::files_bar;

#[derive(Args)]
pub struct FeaturesArgs {
    /// Audio files (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output folder: one `NNNNN.npy` per input (float32 `[patches, n_mels, patch_frames]`) and
    /// `index.csv` (`path,npy,patches,duration_s,patch_starts_s` with starts separated by `;`).
    #[arg(long)]
    out_dir: PathBuf,
    /// Most patches per file; longer files are sampled evenly.
    #[arg(long, default_value_t = simsong::frontend::DEFAULT_MAX_PATCHES)]
    max_patches: usize,
}

pub fn run(args: FeaturesArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let params = AnalysisParams::CURRENT;
    let front = FrontEnd::new(params)?.with_max_patches(args.max_patches);
    let bar = files_bar(args.files.len(), "features");
    let rows: Vec<_> = args
        .files
        .par_iter()
        .enumerate()
        .map(|(i, path)| {
            let name = format!("{i:05}.npy");
            let result = front
                .features_from_path(path)
                .map_err(anyhow::Error::from)
                .and_then(|f| {
                    let n = f.patches.len();
                    let flat: Vec<f32> = f
                        .patches
                        .iter()
                        .flat_map(|p| p.data.iter().copied())
                        .collect();
                    let array = ndarray::Array3::from_shape_vec(
                        (n, params.n_mels, params.patch_frames),
                        flat,
                    )?;
                    ndarray_npy::write_npy(args.out_dir.join(&name), &array)?;
                    let starts: Vec<String> = f
                        .patches
                        .iter()
                        .map(|p| format!("{:.3}", p.start_frame as f64 * params.hop_seconds()))
                        .collect();
                    Ok(format!(
                        "{},{name},{n},{:.3},{}\n",
                        csv_field(&path.display().to_string()),
                        f.duration_seconds(),
                        starts.join(";")
                    ))
                });
            bar.inc(1);
            (path, result)
        })
        .collect();
    bar.finish_and_clear();

    let index_path = args.out_dir.join("index.csv");
    let mut index = std::io::BufWriter::new(std::fs::File::create(&index_path)?);
    writeln!(index, "path,npy,patches,duration_s,patch_starts_s")?;
    let mut failed = 0;
    for (path, row) in rows {
        match row {
            Ok(line) => index.write_all(line.as_bytes())?,
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e:#}", path.display());
            }
        }
    }
    index.flush()?;
    eprintln!(
        "wrote features of {} files to {}",
        args.files.len() - failed,
        args.out_dir.display()
    );
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
