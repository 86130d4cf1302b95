//! Training the [`Quantizer`] on a catalog's own embeddings, and coding a whole catalog, at
//! build time (CLI only).
//!
//! Each stage's codebook is fitted by k-means (`linfa-clustering`: Lloyd iterations from
//! randomly chosen training vectors, as faiss does) on what the earlier stages left over. Runs
//! are seeded, so the same embeddings always give the same codebooks: a catalog built on one
//! machine and one built from shards and merged are identical. As in faiss, a k-means sees at
//! most [`SAMPLES_PER_CENTROID`] training vectors per centroid (an evenly spaced sample of the
//! catalog) and runs at most [`KMEANS_ITERATIONS`] iterations. (linfa's k-means++ start costs
//! 6× the time for 256 centroids with no better recall, so the start is random.)

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::{Array2, ArrayView2, Axis};
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;

use super::quantizer::{MAX_CENTROIDS, Quantizer};
use crate::error::{Error, Result};

/// Training vectors per centroid, at most (by default).
pub const SAMPLES_PER_CENTROID: usize = 64;
/// Lloyd iterations, at most (by default).
pub const KMEANS_ITERATIONS: u64 = 25;
/// Seed of every k-means run.
const SEED: u64 = 0x5151_50a9;

/// How to size and train the quantiser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizerShape {
    /// Code bytes per track (coding stages).
    pub code_bytes: usize,
    /// Training vectors per centroid, at most.
    pub samples_per_centroid: usize,
    /// Lloyd iterations per k-means, at most.
    pub iterations: u64,
}

impl Default for QuantizerShape {
    fn default() -> Self {
        QuantizerShape {
            code_bytes: 16,
            samples_per_centroid: SAMPLES_PER_CENTROID,
            iterations: KMEANS_ITERATIONS,
        }
    }
}

impl QuantizerShape {
    /// A quarter of the default training work, for tests: on a 100k catalog recall@10 after
    /// re-ranking 100 drops from 0.974 to 0.959, and training from 101 s to 27 s.
    pub fn quick() -> Self {
        QuantizerShape {
            samples_per_centroid: 32,
            iterations: 12,
            ..Self::default()
        }
    }
}

/// Trains the codebooks on `vectors` (`n × dim`, row-major, unit length).
pub fn train_quantizer(vectors: &[f32], dim: usize, shape: QuantizerShape) -> Result<Quantizer> {
    let n = vectors.len() / dim.max(1);
    if n == 0 || vectors.len() != n * dim {
        return Err(Error::InvalidIndex(
            "no embeddings to train the codebooks on".into(),
        ));
    }
    let stages = shape.code_bytes;
    if !(1..=64).contains(&stages) {
        return Err(Error::InvalidIndex(format!(
            "{stages} code bytes per track: choose 1 to 64"
        )));
    }
    // Small catalogs get fewer centroids: k-means needs several vectors per centroid.
    let k = MAX_CENTROIDS.min((n / 4).max(1));
    let mut residuals = sample_rows(vectors, dim, shape.samples_per_centroid * k);
    let rows = residuals.len() / dim;
    let mut codebooks = Vec::with_capacity(stages * k * dim);
    for _ in 0..stages {
        let centroids = kmeans(&residuals, dim, k, shape.iterations)?;
        // Code against the codebook as it will be stored (f16), as `encode_all` will.
        let stage = Quantizer::from_parts(dim as u32, 1, k as u32, centroids);
        let view = ArrayView2::from_shape((rows, dim), &residuals).expect("rows × dim");
        let codes = nearest_codes(&stage, 0, view);
        for (r, &c) in residuals.chunks_exact_mut(dim).zip(&codes) {
            r.iter_mut()
                .zip(stage.codeword(0, c as usize))
                .for_each(|(x, w)| *x -= w);
        }
        codebooks.extend_from_slice(stage.codebook(0));
    }
    let quantizer = Quantizer::from_parts(dim as u32, stages as u32, k as u32, codebooks);
    quantizer.validate(dim)?;
    Ok(quantizer)
}

/// The codes of every row of `vectors` (`n × dim`): the same greedy coding as
/// [`Quantizer::encode`], batched as matrix products and spread over the CLI's threads.
pub fn encode_all(quantizer: &Quantizer, vectors: &[f32]) -> Vec<u8> {
    let dim = quantizer.dim as usize;
    let m = quantizer.code_len();
    vectors
        .par_chunks(4096 * dim)
        .flat_map_iter(|chunk| {
            let rows = chunk.len() / dim;
            let mut residual =
                Array2::from_shape_vec((rows, dim), chunk.to_vec()).expect("rows × dim");
            let mut codes = vec![0u8; rows * m];
            for stage in 0..m {
                let stage_codes = nearest_codes(quantizer, stage, residual.view());
                for (i, (mut r, &c)) in residual
                    .axis_iter_mut(Axis(0))
                    .zip(&stage_codes)
                    .enumerate()
                {
                    codes[i * m + stage] = c;
                    r.iter_mut()
                        .zip(quantizer.codeword(stage, c as usize))
                        .for_each(|(x, w)| *x -= w);
                }
            }
            codes
        })
        .collect()
}

/// For each row of `residuals`, the nearest centroid of `stage` (L2), by one matrix product:
/// `argmax_c 2⟨r, c⟩ − ‖c‖²`.
fn nearest_codes(quantizer: &Quantizer, stage: usize, residuals: ArrayView2<f32>) -> Vec<u8> {
    let dim = quantizer.dim as usize;
    let k = quantizer.centroids as usize;
    let book = ArrayView2::from_shape((k, dim), quantizer.codebook(stage)).expect("k × dim");
    let norms = quantizer.codebook_norms(stage);
    let scores = residuals.dot(&book.t());
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
            best.0 as u8
        })
        .collect()
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
    fn batched_coding_equals_one_at_a_time_and_beats_one_stage() {
        let dim = 16;
        let mut state = 7u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let vectors: Vec<f32> = (0..3000 * dim).map(|_| next()).collect();
        let shape = QuantizerShape {
            code_bytes: 4,
            ..QuantizerShape::quick()
        };
        let q = train_quantizer(&vectors, dim, shape).unwrap();
        let codes = encode_all(&q, &vectors);
        // Matrix products round differently from one dot product at a time: a near-tie may
        // go the other way, nothing more.
        let differ = (0..3000)
            .filter(|&i| q.encode(&vectors[i * dim..(i + 1) * dim]) != codes[i * 4..(i + 1) * 4])
            .count();
        assert!(differ <= 30, "{differ} of 3000 codes differ");
        // Each stage lowers the reconstruction error.
        let err = |stages: usize| -> f32 {
            (0..3000)
                .map(|i| {
                    let x = &vectors[i * dim..(i + 1) * dim];
                    let y = q.decode(&codes[i * 4..i * 4 + stages]);
                    x.iter()
                        .zip(&y)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f32>()
                })
                .sum()
        };
        assert!(
            err(4) < err(2) && err(2) < err(1),
            "{} {} {}",
            err(1),
            err(2),
            err(4)
        );
    }
}
