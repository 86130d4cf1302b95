//! Training the [`Quantizer`] on a catalog's own embeddings, and coding a whole catalog, at
//! build time (CLI only).
//!
//! The cells' centroids are fitted by k-means on the embeddings, then each slice's codebook by
//! k-means on that slice of what the centroids leave over (`linfa-clustering`: Lloyd iterations
//! from randomly chosen training vectors, as faiss does). Runs are seeded, so the same
//! embeddings always give the same codebooks: a catalog built on one machine and one built from
//! shards and merged are identical. As in faiss, a k-means sees at most
//! [`SAMPLES_PER_CENTROID`] training vectors per centroid (an evenly spaced sample of the
//! catalog) and runs at most [`KMEANS_ITERATIONS`] iterations. (linfa's k-means++ start costs
//! 6× the time for 256 centroids with no better recall, so the start is random.)

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::{Array2, ArrayView2, Axis};
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;

use super::quantizer::{MAX_CELLS, MAX_CENTROIDS, Quantizer};
use crate::error::{Error, Result};

/// Training vectors per centroid, at most (by default).
pub const SAMPLES_PER_CENTROID: usize = 64;
/// Lloyd iterations, at most (by default).
pub const KMEANS_ITERATIONS: u64 = 25;
/// Tracks per cell the default cell count aims at in large catalogs: 1,000 cells at 600k
/// tracks, where faiss finds 0.96 of a dropped file's true top 10 in 32 probed cells with
/// 32-byte codes (`bench/results/ivf-layouts.json`); capped at [`MAX_CELLS`].
pub const TRACKS_PER_CELL: usize = 600;
/// Smaller catalogs get up to 256 cells of at least this many tracks, so that a first search
/// (32 cells, at least 500 tracks) still reads a small share of the codes: at 20,000 tracks,
/// 256 cells of 78 instead of 33 of 600.
pub const MIN_TRACKS_PER_CELL: usize = 50;
/// Seed of every k-means run.
const SEED: u64 = 0x5151_50a9;

/// How to size and train the quantiser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizerShape {
    /// Code bytes per track (slices of the residual; must divide the embedding size).
    pub code_bytes: usize,
    /// Cells; `None`: one per [`TRACKS_PER_CELL`] tracks, or up to 256 of
    /// [`MIN_TRACKS_PER_CELL`] when that gives more; at least 1, at most [`MAX_CELLS`].
    pub cells: Option<usize>,
    /// Training vectors per centroid, at most.
    pub samples_per_centroid: usize,
    /// Lloyd iterations per k-means, at most.
    pub iterations: u64,
}

impl Default for QuantizerShape {
    fn default() -> Self {
        QuantizerShape {
            code_bytes: 32,
            cells: None,
            samples_per_centroid: SAMPLES_PER_CENTROID,
            iterations: KMEANS_ITERATIONS,
        }
    }
}

impl QuantizerShape {
    /// A quarter of the default training work, for tests.
    pub fn quick() -> Self {
        QuantizerShape {
            samples_per_centroid: 32,
            iterations: 12,
            ..Self::default()
        }
    }

    /// The cells for a catalog of `n` tracks.
    pub fn cells_for(&self, n: usize) -> usize {
        self.cells
            .unwrap_or((n / TRACKS_PER_CELL).max((n / MIN_TRACKS_PER_CELL).min(256)))
            .clamp(1, MAX_CELLS)
            .min(n.max(1))
    }
}

/// Trains the quantiser on `vectors` (`n × dim`, row-major, unit length).
pub fn train_quantizer(vectors: &[f32], dim: usize, shape: QuantizerShape) -> Result<Quantizer> {
    let n = vectors.len() / dim.max(1);
    if n == 0 || vectors.len() != n * dim {
        return Err(Error::InvalidIndex(
            "no embeddings to train the codebooks on".into(),
        ));
    }
    let m = shape.code_bytes;
    if m == 0 || m > dim || !dim.is_multiple_of(m) {
        return Err(Error::InvalidIndex(format!(
            "{m} code bytes per track: choose a divisor of {dim} (8, 16, 32 or 64 for 128-d)"
        )));
    }
    let cells = shape.cells_for(n);
    let coarse_sample = sample_rows(vectors, dim, shape.samples_per_centroid * cells);
    let coarse = kmeans(&coarse_sample, dim, cells, shape.iterations)?;
    let sample = sample_rows(vectors, dim, shape.samples_per_centroid * MAX_CENTROIDS);
    // Residuals from the centroids as they will be stored (int8).
    let stage = Quantizer::from_parts(dim as u32, 1, 1, &coarse, &vec![0.0; dim]);
    let rows = sample.len() / dim;
    let view = ArrayView2::from_shape((rows, dim), &sample).expect("rows × dim");
    let assigned = nearest_cells(&stage, view);
    let mut residuals = sample.clone();
    for (r, &c) in residuals.chunks_exact_mut(dim).zip(&assigned) {
        r.iter_mut()
            .zip(stage.centroid(c as usize))
            .for_each(|(x, w)| *x -= w);
    }
    // Small catalogs get fewer codewords: k-means needs several vectors per centroid.
    let k = MAX_CENTROIDS.min((rows / 4).max(1));
    let sd = dim / m;
    let mut codebooks = Vec::with_capacity(m * k * sd);
    for s in 0..m {
        let slice: Vec<f32> = residuals
            .chunks_exact(dim)
            .flat_map(|r| r[s * sd..(s + 1) * sd].iter().copied())
            .collect();
        codebooks.extend(kmeans(&slice, sd, k, shape.iterations)?);
    }
    let quantizer = Quantizer::from_parts(dim as u32, m as u32, k as u32, &coarse, &codebooks);
    quantizer.validate(dim)?;
    Ok(quantizer)
}

/// The cell and code of every row of `vectors` (`n × dim`): the same coding as
/// [`Quantizer::encode`], the cells batched as matrix products and spread over the CLI's
/// threads. Returns `(cells, codes)`, `n` and `n × code_len` long.
pub fn encode_all(quantizer: &Quantizer, vectors: &[f32]) -> (Vec<u32>, Vec<u8>) {
    let dim = quantizer.dim as usize;
    let parts: Vec<(Vec<u32>, Vec<u8>)> = vectors
        .par_chunks(4096 * dim)
        .map(|chunk| {
            let rows = chunk.len() / dim;
            let view = ArrayView2::from_shape((rows, dim), chunk).expect("rows × dim");
            let cells = nearest_cells(quantizer, view);
            let mut codes = Vec::with_capacity(rows * quantizer.code_len());
            let mut residual = vec![0.0f32; dim];
            for (x, &c) in chunk.chunks_exact(dim).zip(&cells) {
                residual
                    .iter_mut()
                    .zip(x.iter().zip(quantizer.centroid(c as usize)))
                    .for_each(|(r, (a, b))| *r = a - b);
                codes.extend(quantizer.encode_residual(&residual));
            }
            (cells, codes)
        })
        .collect();
    let mut cells = Vec::with_capacity(vectors.len() / dim.max(1));
    let mut codes = Vec::with_capacity(cells.capacity() * quantizer.code_len());
    for (c, k) in parts {
        cells.extend(c);
        codes.extend(k);
    }
    (cells, codes)
}

/// For each row of `rows`, the nearest cell (L2), by one matrix product:
/// `argmax_c 2⟨r, c⟩ − ‖c‖²`.
fn nearest_cells(quantizer: &Quantizer, rows: ArrayView2<f32>) -> Vec<u32> {
    let dim = quantizer.dim as usize;
    let k = quantizer.cells as usize;
    let book = ArrayView2::from_shape((k, dim), quantizer.centroids()).expect("k × dim");
    let norms = quantizer.centroid_norms();
    let scores = rows.dot(&book.t());
    scores
        .axis_iter(Axis(0))
        .map(|row| {
            let mut best = (0usize, f32::NEG_INFINITY);
            for (c, (&s, &n)) in row.iter().zip(norms).enumerate() {
                let v = 2.0 * s - n;
                if v > best.1 {
                    best = (c, v);
                }
            }
            best.0 as u32
        })
        .collect()
}

/// Coarse cells for an inverted-file scan of `vectors` (`n × dim`, row-major, unit length):
/// the cells of a catalog of `n` tracks ([`QuantizerShape::cells_for`]), trained like the
/// quantiser's first stage, and each row's nearest cell. For lists of neighbours where no
/// quantiser exists yet (the version audit of a one-file index).
pub fn coarse_cells(vectors: &[f32], dim: usize) -> Result<(Vec<f32>, Vec<u32>)> {
    let n = vectors.len() / dim.max(1);
    // A quarter of the quantiser's training: the cells only bound which tracks are compared,
    // and the nearest neighbours of a version are its own versions, close by.
    let shape = QuantizerShape::quick();
    let cells = shape.cells_for(n);
    let sample = sample_rows(vectors, dim, shape.samples_per_centroid * cells);
    let coarse = kmeans(&sample, dim, cells, shape.iterations)?;
    let stage = Quantizer::from_parts(dim as u32, 1, 1, &coarse, &vec![0.0; dim]);
    let view = ArrayView2::from_shape((n, dim), vectors)
        .map_err(|e| Error::InvalidIndex(format!("rows: {e}")))?;
    Ok((coarse, nearest_cells(&stage, view)))
}

/// At most `want` rows of `vectors`, evenly spaced (deterministic).
fn sample_rows(vectors: &[f32], dim: usize, want: usize) -> Vec<f32> {
    let n = vectors.len() / dim;
    if n <= want {
        return vectors.to_vec();
    }
    (0..want)
        .flat_map(|i| {
            let r = i * n / want;
            vectors[r * dim..(r + 1) * dim].iter().copied()
        })
        .collect()
}

/// `k` centroids of `data` (rows of `dim`), row-major.
fn kmeans(data: &[f32], dim: usize, k: usize, iterations: u64) -> Result<Vec<f32>> {
    let rows = data.len() / dim;
    if rows <= k {
        // Every row is its own centroid; pad by repeating (a repeat is never the nearest).
        return Ok((0..k)
            .flat_map(|i| data[(i % rows) * dim..(i % rows + 1) * dim].iter().copied())
            .collect());
    }
    let array = Array2::from_shape_vec((rows, dim), data.to_vec())
        .map_err(|e| Error::InvalidIndex(format!("k-means input: {e}")))?;
    let dataset = DatasetBase::from(array);
    let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(SEED))
        .n_runs(1)
        .max_n_iterations(iterations)
        .tolerance(1e-5)
        .init_method(KMeansInit::Random)
        .fit(&dataset)
        .map_err(|e| Error::InvalidIndex(format!("k-means failed: {e}")))?;
    Ok(model.centroids().iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_coding_equals_one_at_a_time_and_codes_beat_the_cells_alone() {
        let dim = 16;
        let mut state = 7u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let n = 3000;
        let vectors: Vec<f32> = (0..n * dim).map(|_| next()).collect();
        let shape = QuantizerShape {
            code_bytes: 4,
            cells: Some(16),
            ..QuantizerShape::quick()
        };
        let q = train_quantizer(&vectors, dim, shape).unwrap();
        assert_eq!((q.cells, q.subspaces, q.sub_centroids), (16, 4, 256));
        let (cells, codes) = encode_all(&q, &vectors);
        // Matrix products round differently from one dot product at a time: a near-tie may
        // go the other way, nothing more.
        let differ = (0..n)
            .filter(|&i| {
                q.encode(&vectors[i * dim..(i + 1) * dim])
                    != (cells[i] as usize, codes[i * 4..(i + 1) * 4].to_vec())
            })
            .count();
        assert!(differ <= 30, "{differ} of {n} codes differ");
        // The codes lower the error the cells leave.
        let err = |with_codes: bool| -> f32 {
            (0..n)
                .map(|i| {
                    let x = &vectors[i * dim..(i + 1) * dim];
                    let c = cells[i] as usize;
                    let y = if with_codes {
                        q.decode(c, &codes[i * 4..(i + 1) * 4])
                    } else {
                        q.centroid(c).to_vec()
                    };
                    x.iter()
                        .zip(&y)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f32>()
                })
                .sum()
        };
        assert!(err(true) < 0.7 * err(false), "{} {}", err(true), err(false));
        // A code size that does not divide the embedding is refused.
        let bad = QuantizerShape {
            code_bytes: 5,
            ..shape
        };
        assert!(train_quantizer(&vectors, dim, bad).is_err());
    }
}
