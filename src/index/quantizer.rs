//! Compact codes for track embeddings: an inverted-file coarse quantiser plus product
//! quantisation of the residuals (faiss's `IndexIVFPQ`), scored by asymmetric distance
//! computation (ADC) with inner products.
//!
//! - The **coarse quantiser** has `lists` centroids; every track belongs to its nearest one. The
//!   published index stores tracks grouped by list, so a track's list costs no bytes: it follows
//!   from its position (see `parts::search`).
//! - The **residual** `x − coarse[list]` is cut into `subquantizers` sub-vectors of
//!   `dim / subquantizers` values; each is replaced by the index (one byte) of its nearest
//!   centroid in that sub-space's **codebook** of up to 256 centroids. A track costs
//!   `subquantizers` bytes.
//! - **ADC**: the query stays exact. For unit vectors ranked by cosine, the score of a track is
//!   `⟨q, coarse[list]⟩ + Σ_j ⟨q_j, codebook_j[code_j]⟩`. The first term is computed once per
//!   list, the second from a lookup table of `subquantizers × 256` inner products computed once
//!   per query ([`AdcTable`]), so scoring a track is `subquantizers` table lookups and adds. The
//!   inner-product form is what makes residual coding cheap to scan: the table does not depend
//!   on the list, unlike the L2 form.
//!
//! Training the centroids (k-means) happens at build time only: [`crate::index::train`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::vectors::dot_f32;

/// Most centroids per sub-space: codes are one byte.
pub const MAX_CENTROIDS: usize = 256;

/// An IVF coarse quantiser with a residual product quantiser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantizer {
    /// Values per embedding.
    pub dim: u32,
    /// Number of coarse centroids (inverted lists).
    pub lists: u32,
    /// Coarse centroids, row-major `lists × dim`.
    pub coarse: Vec<f32>,
    /// Sub-vectors per embedding = code bytes per track.
    pub subquantizers: u32,
    /// Centroids per sub-space codebook (at most [`MAX_CENTROIDS`]).
    pub centroids: u32,
    /// Codebooks, `subquantizers × centroids × (dim / subquantizers)`.
    pub codebooks: Vec<f32>,
}

impl Quantizer {
    /// Values per sub-vector.
    pub fn sub_dim(&self) -> usize {
        (self.dim / self.subquantizers.max(1)) as usize
    }

    /// Code bytes per track.
    pub fn code_len(&self) -> usize {
        self.subquantizers as usize
    }

    /// Checks sizes and values after decoding untrusted bytes.
    pub fn validate(&self, dim: usize) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidIndex(format!("quantiser: {why}")));
        if self.dim as usize != dim {
            return bad(format!("built for {}-d embeddings, not {dim}-d", self.dim));
        }
        let (lists, m, k) = (
            self.lists as usize,
            self.subquantizers as usize,
            self.centroids as usize,
        );
        if !(1..=1 << 20).contains(&lists) {
            return bad(format!("{lists} coarse lists"));
        }
        if m == 0 || !dim.is_multiple_of(m) {
            return bad(format!("{m} sub-quantisers do not divide {dim}"));
        }
        if !(1..=MAX_CENTROIDS).contains(&k) {
            return bad(format!("{k} centroids per codebook"));
        }
        if self.coarse.len() != lists * dim || self.codebooks.len() != m * k * (dim / m) {
            return bad("centroid tables have the wrong size".into());
        }
        if !self
            .coarse
            .iter()
            .chain(&self.codebooks)
            .all(|v| v.is_finite())
        {
            return bad("centroids hold non-finite values".into());
        }
        Ok(())
    }

    /// Coarse centroid `list`.
    pub fn coarse_centroid(&self, list: usize) -> &[f32] {
        let d = self.dim as usize;
        &self.coarse[list * d..(list + 1) * d]
    }

    fn codeword(&self, sub: usize, code: usize) -> &[f32] {
        let ds = self.sub_dim();
        let start = (sub * self.centroids as usize + code) * ds;
        &self.codebooks[start..start + ds]
    }

    /// The coarse list nearest to `x` (L2, as k-means assigned the training vectors).
    pub fn assign(&self, x: &[f32]) -> u32 {
        nearest(&self.coarse, self.dim as usize, x).0 as u32
    }

    /// Codes of the residual of `x` against coarse centroid `list`.
    pub fn encode_residual(&self, x: &[f32], list: u32) -> Vec<u8> {
        let (ds, k) = (self.sub_dim(), self.centroids as usize);
        let residual: Vec<f32> = x
            .iter()
            .zip(self.coarse_centroid(list as usize))
            .map(|(a, c)| a - c)
            .collect();
        residual
            .chunks_exact(ds)
            .enumerate()
            .map(|(j, sub)| {
                let book = &self.codebooks[j * k * ds..(j + 1) * k * ds];
                nearest(book, ds, sub).0 as u8
            })
            .collect()
    }

    /// `(list, codes)` of `x`.
    pub fn encode(&self, x: &[f32]) -> (u32, Vec<u8>) {
        let list = self.assign(x);
        (list, self.encode_residual(x, list))
    }

    /// The vector that `(list, codes)` stands for.
    pub fn decode(&self, list: u32, codes: &[u8]) -> Vec<f32> {
        let mut out = self.coarse_centroid(list as usize).to_vec();
        let ds = self.sub_dim();
        for (j, &c) in codes.iter().enumerate() {
            let word = self.codeword(j, c as usize);
            out[j * ds..(j + 1) * ds]
                .iter_mut()
                .zip(word)
                .for_each(|(o, w)| *o += w);
        }
        out
    }

    /// The lookup tables for scoring every track against `query` (which must have `dim`
    /// values; normally unit length).
    pub fn adc_table(&self, query: &[f32]) -> AdcTable {
        let (m, k, ds) = (
            self.subquantizers as usize,
            self.centroids as usize,
            self.sub_dim(),
        );
        let list_scores = self
            .coarse
            .chunks_exact(self.dim as usize)
            .map(|c| dot_f32(c, query))
            .collect();
        // Padded to 256 entries per sub-space so that a code byte indexes without a bounds
        // check; codes ≥ `centroids` are refused when a part loads.
        let mut lut = vec![[0.0f32; MAX_CENTROIDS]; m];
        for (j, row) in lut.iter_mut().enumerate() {
            let q = &query[j * ds..(j + 1) * ds];
            for (c, slot) in row.iter_mut().enumerate().take(k) {
                *slot = dot_f32(self.codeword(j, c), q);
            }
        }
        AdcTable { list_scores, lut }
    }
}

/// Per-query tables for ADC scoring (see the module docs).
#[derive(Debug, Clone)]
pub struct AdcTable {
    /// `⟨q, coarse[list]⟩` for every list.
    pub list_scores: Vec<f32>,
    lut: Vec<[f32; MAX_CENTROIDS]>,
}

impl AdcTable {
    /// Approximate inner product of the query with the track coded `codes` in list `list`.
    #[inline]
    pub fn score(&self, list: usize, codes: &[u8]) -> f32 {
        self.list_scores[list] + self.residual_score(codes)
    }

    /// The residual part of [`Self::score`]: `Σ_j lut[j][codes[j]]`.
    #[inline]
    pub fn residual_score(&self, codes: &[u8]) -> f32 {
        // Four partial sums break the add chain so the lookups overlap.
        let mut acc = [0.0f32; 4];
        let mut chunks = codes.chunks_exact(4);
        let mut tables = self.lut.chunks_exact(4);
        for (c, t) in (&mut chunks).zip(&mut tables) {
            acc[0] += t[0][c[0] as usize];
            acc[1] += t[1][c[1] as usize];
            acc[2] += t[2][c[2] as usize];
            acc[3] += t[3][c[3] as usize];
        }
        let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (c, t) in chunks.remainder().iter().zip(tables.remainder()) {
            sum += t[*c as usize];
        }
        sum
    }
}

/// Index and squared distance of the row of `table` (rows of `dim` values) nearest to `x`.
pub fn nearest(table: &[f32], dim: usize, x: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::INFINITY);
    for (i, row) in table.chunks_exact(dim).enumerate() {
        let d: f32 = row.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
        if d < best.1 {
            best = (i, d);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Quantizer {
        // 4-d, 2 lists, 2 sub-quantisers of 2 values with 3 centroids each.
        Quantizer {
            dim: 4,
            lists: 2,
            coarse: vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            subquantizers: 2,
            centroids: 3,
            codebooks: vec![
                0.0, 0.0, 0.1, 0.0, 0.0, 0.1, // sub-space 0
                0.0, 0.0, 0.0, 0.2, 0.2, 0.0, // sub-space 1
            ],
        }
    }

    #[test]
    fn encode_decode_and_adc_agree() {
        let q = toy();
        q.validate(4).unwrap();
        let x = [0.9, 0.1, 0.0, 0.2];
        let (list, codes) = q.encode(&x);
        assert_eq!(list, 0);
        assert_eq!(codes, vec![2, 1]);
        let approx = q.decode(list, &codes);
        assert_eq!(approx, vec![1.0, 0.1, 0.0, 0.2]);
        let query = [0.5, 0.5, 0.5, 0.5];
        let table = q.adc_table(&query);
        let exact = dot_f32(&approx, &query);
        assert!((table.score(list as usize, &codes) - exact).abs() < 1e-6);
    }

    #[test]
    fn wrong_sizes_are_refused() {
        let mut q = toy();
        q.codebooks.pop();
        assert!(q.validate(4).is_err());
        let mut q = toy();
        q.subquantizers = 3;
        assert!(q.validate(4).is_err());
        assert!(toy().validate(8).is_err());
        let mut q = toy();
        q.coarse[0] = f32::NAN;
        assert!(q.validate(4).is_err());
    }
}
