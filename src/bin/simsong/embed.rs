//! `simsong embed`: track embeddings of audio files, as CSV or .npy.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use rayon::prelude::*;

use crate::progress::files_bar;

#[derive(Args)]
pub struct EmbedArgs {
    /// Audio files (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output file: `.csv` (header `path,e0,…`) or `.npy` (float32 `[files, D]`, with the input
    /// paths in `<out>.paths.txt`).
    #[arg(long)]
    out: PathBuf,
    /// Model file (ONNX); the shipped model built into this binary when omitted.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Also write every file's segment embeddings (one per 3 s patch, L2-normalised) to this
    /// `.npy` (float32 `[segments, D]`, files in output order), and beside it the same name in
    /// `.csv` (`row,start_seconds`: the output row of its file and where the segment starts).
    #[arg(long)]
    segments: Option<PathBuf>,
    /// Most patches analysed per file, spread evenly over it (default 128).
    #[arg(long, value_name = "N")]
    max_patches: Option<usize>,
}

pub fn run(args: EmbedArgs) -> anyhow::Result<ExitCode> {
    let format = match args.out.extension().and_then(|e| e.to_str()) {
        Some("csv") => "csv",
        Some("npy") => "npy",
        _ => bail!("--out must end in .csv or .npy"),
    };
    let mut engine = crate::load_engine(args.model.as_deref())?;
    if let Some(n) = args.max_patches {
        engine = engine.with_max_patches(n);
    }
    let bar = files_bar(args.files.len(), "embedding");
    let results: Vec<_> = args
        .files
        .par_iter()
        .map(|path| {
            let r = engine.analyze_path(path).map(|a| {
                let segments: Vec<(f64, Vec<f32>)> = a
                    .segments
                    .into_iter()
                    .map(|s| (s.start_seconds, s.embedding))
                    .collect();
                (a.embedding, segments)
            });
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();

    let mut rows = Vec::new();
    let mut segments = Vec::new();
    let mut failed = 0;
    for (path, result) in args.files.iter().zip(results) {
        match result {
            Ok((embedding, segs)) => {
                segments.extend(segs.into_iter().map(|(start, e)| (rows.len(), start, e)));
                rows.push((path.as_path(), embedding));
            }
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e}", path.display());
            }
        }
    }
    let dim = engine.model_metadata().embedding_dim;
    match format {
        "csv" => write_csv(&args.out, dim, &rows)?,
        _ => write_npy(&args.out, dim, &rows)?,
    }
    eprintln!("wrote {} embeddings to {}", rows.len(), args.out.display());
    if let Some(out) = &args.segments {
        write_segments(out, dim, &segments)?;
        eprintln!(
            "wrote {} segment embeddings to {}",
            segments.len(),
            out.display()
        );
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} files could not be embedded",
            args.files.len()
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn write_csv(out: &Path, dim: usize, rows: &[(&Path, Vec<f32>)]) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    write!(w, "path")?;
    for i in 0..dim {
        write!(w, ",e{i}")?;
    }
    writeln!(w)?;
    for (path, embedding) in rows {
        write!(w, "{}", csv_field(&path.display().to_string()))?;
        for v in embedding {
            // Shortest representation that reads back to the same f32.
            write!(w, ",{v}")?;
        }
        writeln!(w)?;
    }
    w.flush()?;
    Ok(())
}

fn write_npy(out: &Path, dim: usize, rows: &[(&Path, Vec<f32>)]) -> anyhow::Result<()> {
    let flat: Vec<f32> = rows.iter().flat_map(|(_, e)| e.iter().copied()).collect();
    let array = ndarray::Array2::from_shape_vec((rows.len(), dim), flat)?;
    ndarray_npy::write_npy(out, &array)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let mut paths_file = out.as_os_str().to_owned();
    paths_file.push(".paths.txt");
    let paths: String = rows
        .iter()
        .map(|(p, _)| format!("{}\n", p.display()))
        .collect();
    std::fs::write(&paths_file, paths)?;
    Ok(())
}

/// Segment rows `(output row of the file, start seconds, embedding)` as `.npy` plus `.csv`.
fn write_segments(out: &Path, dim: usize, rows: &[(usize, f64, Vec<f32>)]) -> anyhow::Result<()> {
    if out.extension().and_then(|e| e.to_str()) != Some("npy") {
        bail!("--segments must end in .npy");
    }
    let flat: Vec<f32> = rows
        .iter()
        .flat_map(|(_, _, e)| e.iter().copied())
        .collect();
    let array = ndarray::Array2::from_shape_vec((rows.len(), dim), flat)?;
    ndarray_npy::write_npy(out, &array)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let mut index = String::from("row,start_seconds\n");
    for (row, start, _) in rows {
        index.push_str(&format!("{row},{start}\n"));
    }
    std::fs::write(out.with_extension("csv"), index)?;
    Ok(())
}

/// Quotes a CSV field when it holds a comma, quote or newline (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
