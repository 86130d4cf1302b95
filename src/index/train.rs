//! Training the [`Quantizer`] on a catalog's own embeddings, at build time (CLI only).
//!
//! k-means comes from `linfa-clustering` (k-means++ initialisation, Lloyd iterations), seeded,
//! so the same embeddings always give the same codebooks: a catalog built on one machine and
//! one built from shards and merged are identical. As in faiss, each k-means sees at most
//! [`SAMPLES_PER_CENTROID`] training vectors per centroid (an evenly spaced sample of the
//! catalog) and runs at most [`KMEANS_ITERATIONS`] iterations: more buys nothing measurable
//! for search and costs minutes at 600k tracks.

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::Array2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;

use super::quantizer::{MAX_CENTROIDS, Quantizer, nearest};
use crate::error::{Error, Result};

/// Training vectors per centroid, at most.
pub const SAMPLES_PER_CENTROID: usize = 64;
/// Lloyd iterations, at most.
pub const KMEANS_ITERATIONS: u64 = 25;
/// Seed of every k-means run.
const SEED: u64 = 0x5151_50a9;

/// How to size the quantiser for a catalog.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizerShape {
    /// Coarse lists; `None` picks [`default_lists`].
    pub lists: Option<usize>,
    /// Code bytes per track (sub-quantisers); must divide the embedding size.
    pub code_bytes: usize,
}

impl Default for QuantizerShape {
    fn default() -> Self {
        QuantizerShape {
            lists: None,
            code_bytes: 16,
        }
    }
}

/// Coarse lists for `n` tracks: about `√n`, so that a list holds about as many tracks as
/// there are lists (faiss's rule of thumb), between 1 and 4096.
pub fn default_lists(n: usize) -> usize {
    ((n as f64).sqrt().round() as usize).clamp(1, 4096)
}

/// Trains the coarse centroids and the residual codebooks on `vectors` (`n × dim`, row-major,
/// unit length).
pub fn train_quantizer(vectors: &[f32], dim: usize, shape: QuantizerShape) -> Result<Quantizer> {
    let n = vectors.len() / dim.max(1);
    if n == 0 || vectors.len() != n * dim {
        return Err(Error::InvalidIndex(
            "no embeddings to train the codebooks on".into(),
        ));
    }
    let m = shape.code_bytes;
    if m == 0 || !dim.is_multiple_of(m) {
        return Err(Error::InvalidIndex(format!(
            "{m} code bytes per track do not divide the {dim}-d embeddings"
        )));
    }
    let lists = shape.lists.unwrap_or_else(|| default_lists(n)).clamp(1, n);
    let coarse = kmeans(&sample_rows(vectors, dim, lists), dim, lists)?;

    // Residuals of (a sample of) the catalog against its coarse centroids.
    let k = MAX_CENTROIDS.min(n);
    let sample = sample_rows(vectors, dim, k);
    let residuals: Vec<f32> = sample
        .par_chunks_exact(dim)
        .flat_map_iter(|x| {
            let (list, _) = nearest(&coarse, dim, x);
            let c = &coarse[list * dim..(list + 1) * dim];
            x.iter().zip(c).map(|(a, b)| a - b).collect::<Vec<_>>()
        })
        .collect();
    let ds = dim / m;
    let rows = residuals.len() / dim;
    let books: Vec<Vec<f32>> = (0..m)
        .into_par_iter()
        .map(|j| {
            let sub: Vec<f32> = (0..rows)
                .flat_map(|r| {
                    residuals[r * dim + j * ds..r * dim + (j + 1) * ds]
                        .iter()
                        .copied()
                })
                .collect();
            kmeans(&sub, ds, k)
        })
        .collect::<Result<_>>()?;
    let quantizer = Quantizer {
        dim: dim as u32,
        lists: lists as u32,
        coarse,
        subquantizers: m as u32,
        centroids: k as u32,
        codebooks: books.concat(),
    };
    quantizer.validate(dim)?;
    Ok(quantizer)
}

/// At most `SAMPLES_PER_CENTROID · centroids` rows of `vectors`, evenly spaced (deterministic).
fn sample_rows(vectors: &[f32], dim: usize, centroids: usize) -> Vec<f32> {
    let n = vectors.len() / dim;
    let want = (SAMPLES_PER_CENTROID * centroids).max(centroids);
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

/// `k` centroids of `data` (rows of `dim`), row-major. With fewer distinct rows than `k`,
/// k-means++ repeats some; their codes are simply never used.
fn kmeans(data: &[f32], dim: usize, k: usize) -> Result<Vec<f32>> {
    let rows = data.len() / dim;
    if rows <= k {
        // Every row is its own centroid; pad by repeating (never chosen twice by `nearest`).
        return Ok((0..k)
            .flat_map(|i| data[(i % rows) * dim..(i % rows + 1) * dim].iter().copied())
            .collect());
    }
    let array = Array2::from_shape_vec((rows, dim), data.to_vec())
        .map_err(|e| Error::InvalidIndex(format!("k-means input: {e}")))?;
    let dataset = DatasetBase::from(array);
    let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(SEED))
        .n_runs(1)
        .max_n_iterations(KMEANS_ITERATIONS)
        .tolerance(1e-5)
        .init_method(KMeansInit::KMeansPlusPlus)
        .fit(&dataset)
        .map_err(|e| Error::InvalidIndex(format!("k-means failed: {e}")))?;
    Ok(model.centroids().iter().copied().collect())
}
