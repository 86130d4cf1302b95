//! `index import`: an index from embeddings computed elsewhere (a distributed job, or a
//! synthetic catalog for benchmarks) instead of from audio.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, bail};
use ndarray::Array2;
use ndarray_npy::read_npy;
use serde::Deserialize;
use simsong::index::{Precision, Tags};
use simsong::{CatalogIndex, TrackMeta};

/// One line of the tracks file (camelCase keys, as `query --json` prints tracks).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct TrackLine {
    id: String,
    title: String,
    collection: String,
    composer: Option<String>,
    tags: Tags,
    predicted: Tags,
    duration_seconds: f32,
    preview_url: Option<String>,
    license: Option<String>,
    attribution: Option<String>,
    tempo: Option<simsong::index::TrackTempo>,
    /// Ids of the tracks this one is a version of, as the store declares them.
    #[serde(default)]
    version_of: Vec<String>,
}

impl Default for TrackLine {
    fn default() -> Self {
        TrackLine {
            id: String::new(),
            title: String::new(),
            collection: String::new(),
            composer: None,
            tags: Tags::new(),
            predicted: Tags::new(),
            duration_seconds: 0.0,
            preview_url: None,
            license: None,
            attribution: None,
            tempo: None,
            version_of: Vec::new(),
        }
    }
}

/// Builds a one-file index from `embeddings` (`.npy`, n × dim float32) and `tracks` (JSON
/// lines), for `model`. With `synthetic_segments` > 0, each track also gets that many segment
/// embeddings scattered around its own (seeded by its position: reproducible).
pub fn import(
    embeddings: &Path,
    tracks: &Path,
    model: Option<&Path>,
    synthetic_segments: usize,
) -> anyhow::Result<CatalogIndex> {
    let engine = crate::load_engine(model)?;
    let vectors: Array2<f32> = read_npy(embeddings).with_context(|| {
        format!(
            "{}: expected a float32 .npy of shape (tracks, dim)",
            embeddings.display()
        )
    })?;
    let dim = engine.model_metadata().embedding_dim;
    if vectors.ncols() != dim {
        bail!(
            "{}: {} values per embedding, the model makes {dim}",
            embeddings.display(),
            vectors.ncols()
        );
    }
    let file =
        std::fs::File::open(tracks).with_context(|| format!("cannot read {}", tracks.display()))?;
    let mut index = CatalogIndex::new(
        engine.model_metadata(),
        engine.model_sha256(),
        Precision::F32,
    );
    let mut lines = std::io::BufReader::new(file).lines();
    for (i, row) in vectors.rows().into_iter().enumerate() {
        let line = lines.next().with_context(|| {
            format!("{}: fewer tracks than embeddings ({i})", tracks.display())
        })??;
        let t: TrackLine = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {}", tracks.display(), i + 1))?;
        let meta = TrackMeta {
            id: t.id,
            title: t.title,
            collection: t.collection,
            composer: t.composer,
            tags: t.tags,
            predicted: t.predicted,
            duration_seconds: t.duration_seconds,
            preview_url: t.preview_url,
            license: t.license,
            attribution: t.attribution,
            tempo: t.tempo,
            version_of: t.version_of,
        };
        let embedding = row.to_vec();
        let segments = scatter(&embedding, synthetic_segments, i as u64);
        let refs: Vec<(f32, &[f32])> = segments.iter().map(|(s, v)| (*s, v.as_slice())).collect();
        index.add_embedding(meta, &embedding, &refs, usize::MAX)?;
    }
    if lines
        .next()
        .is_some_and(|l| l.is_ok_and(|l| !l.trim().is_empty()))
    {
        bail!("{}: more tracks than embeddings", tracks.display());
    }
    eprintln!("imported {} tracks", index.len());
    Ok(index)
}

/// `count` segments 3 s apart, each the track's embedding plus noise of about 0.6 its length
/// (cosine ≈ 0.85 to the track, as real segments are).
fn scatter(embedding: &[f32], count: usize, seed: u64) -> Vec<(f32, Vec<f32>)> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let scale = 0.6 * (12.0 / embedding.len() as f32).sqrt();
    (0..count)
        .map(|j| {
            let v = embedding.iter().map(|x| x + scale * next()).collect();
            (3.0 * j as f32, v)
        })
        .collect()
}

/// The inverse of [`import`]: writes a one-file index's track embeddings (`.npy`, n × dim
/// float32) and tracks (JSON lines), in index order.
pub fn export(index: &CatalogIndex, embeddings: &Path, tracks: &Path) -> anyhow::Result<()> {
    let dim = index.dim();
    let mut values = Vec::with_capacity(index.len() * dim);
    for i in 0..index.len() {
        values.extend(index.embedding(i));
    }
    let array = Array2::from_shape_vec((index.len(), dim), values)?;
    ndarray_npy::write_npy(embeddings, &array)
        .with_context(|| format!("cannot write {}", embeddings.display()))?;
    let mut out = String::new();
    for t in index.tracks() {
        out.push_str(&serde_json::to_string(t)?);
        out.push('\n');
    }
    std::fs::write(tracks, out).with_context(|| format!("cannot write {}", tracks.display()))?;
    eprintln!("exported {} tracks", index.len());
    Ok(())
}
