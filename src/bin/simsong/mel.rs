//! `simsong mel FILE --png OUT`: a picture of a file's log-mel spectrogram (the model's view).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use simsong::AnalysisParams;
use simsong::frontend::FrontEnd;

#[derive(Args)]
pub struct MelArgs {
    /// Audio file.
    file: PathBuf,
    /// Output PNG.
    #[arg(long)]
    png: PathBuf,
    /// Pixel rows per mel band.
    #[arg(long, default_value_t = 2)]
    band_height: u32,
}

/// Anchor colours of the map, dark (quiet) to bright (loud); "magma"-like.
const COLORMAP: [[f32; 3]; 6] = [
    [0.0, 0.0, 4.0],
    [59.0, 15.0, 112.0],
    [140.0, 41.0, 129.0],
    [222.0, 73.0, 104.0],
    [254.0, 159.0, 109.0],
    [252.0, 253.0, 191.0],
];

pub fn run(args: MelArgs) -> anyhow::Result<ExitCode> {
    let front = FrontEnd::new(AnalysisParams::CURRENT)?;
    let features = front
        .features_from_path(&args.file)
        .with_context(|| format!("{}", args.file.display()))?;
    let mel = &features.overview.mel;
    let (bands, columns) = (mel.n_mels(), mel.n_frames());
    let max = mel
        .frames()
        .iter()
        .copied()
        .fold(f32::MIN_POSITIVE, f32::max);
    let band_height = args.band_height.clamp(1, 16) as usize;
    let (width, height) = (columns, bands * band_height);
    let mut rgb = vec![0u8; width * height * 3];
    for x in 0..columns {
        let frame = mel.frame(x);
        for (band, &v) in frame.iter().enumerate() {
            let color = colormap(v / max);
            // Low frequencies at the bottom.
            let top = (bands - 1 - band) * band_height;
            for y in top..top + band_height {
                rgb[(y * width + x) * 3..][..3].copy_from_slice(&color);
            }
        }
    }
    let file = std::fs::File::create(&args.png)
        .with_context(|| format!("cannot create {}", args.png.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&rgb)?;
    eprintln!(
        "wrote {} ({width}×{height} px, {:.1} s, {} frames per column)",
        args.png.display(),
        features.duration_seconds(),
        features.overview.frames_per_column
    );
    Ok(ExitCode::SUCCESS)
}

/// Maps 0..=1 to a colour by linear interpolation between [`COLORMAP`] anchors.
fn colormap(t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0) * (COLORMAP.len() - 1) as f32;
    let i = (t.floor() as usize).min(COLORMAP.len() - 2);
    let f = t - i as f32;
    let (a, b) = (COLORMAP[i], COLORMAP[i + 1]);
    [0, 1, 2].map(|c| (a[c] + (b[c] - a[c]) * f).round() as u8)
}
