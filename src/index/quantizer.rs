//! Compact codes for track embeddings: residual quantisation (faiss's
//! `IndexResidualQuantizer`), scored by asymmetric distance computation (ADC) with inner
//! products.
//!
//! - A track is coded in `stages` steps. Stage `m` has a **codebook** of up to 256 full-size
//!   centroids; it picks (one byte) the centroid nearest to what the previous stages left over,
//!   and leaves the rest to the next stage. The track stands for the sum of its codewords:
//!   `x ≈ Σ_m codebook_m[code_m]`. A track costs `stages` bytes.
//! - **ADC**: the query stays exact. The score of a track is `⟨q, x⟩ ≈ Σ_m ⟨q, codebook_m[code_m]⟩`,
//!   so one lookup table of `stages × 256` inner products, computed once per query
//!   ([`AdcTable`]), makes scoring a track `stages` lookups and adds, exactly as for product
//!   quantisation.
//!
//! Why not product quantisation (faiss's `IndexIVFPQ`), the usual choice: on embeddings like
//! ours (whitened, so no sub-space is more important than another) residual codes of the same
//! 16 bytes find far more of the true neighbours: on a 100k synthetic catalog, recall@10 of the
//! codes alone is 0.56 against 0.40 for IVF-PQ, and 0.98 against 0.89 after re-ranking a
//! shortlist of 100 (BENCHMARKS.md). The price is in the codebooks (`stages × 256 × dim`
//! values, stored as f16: 1 MB for 16 × 256 × 128) and in coding time at build, not at search.
//!
//! Codes are found greedily (one stage after the other, no beam search); training fits each
//! stage's codebook with k-means at build time only: [`crate::index::train`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::vectors::dot_f32;

/// Most centroids per stage: codes are one byte.
pub const MAX_CENTROIDS: usize = 256;

/// A residual quantiser: `stages` codebooks of `centroids` vectors of `dim` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantizer {
    /// Values per embedding.
    pub dim: u32,
    /// Coding stages = code bytes per track.
    pub stages: u32,
    /// Centroids per codebook (at most [`MAX_CENTROIDS`]).
    pub centroids: u32,
    /// Codebooks, `stages × centroids × dim`, as stored (f16 values widened to f32).
    codebooks: Vec<f32>,
    /// `‖codeword‖²` of every centroid, for coding.
    norms: Vec<f32>,
}

/// The stored form: codebooks as little-endian IEEE half floats (half the bytes of f32; the
/// codes are found against the rounded values, so nothing is lost by storing them so).
#[derive(Serialize, Deserialize)]
struct StoredQuantizer {
    dim: u32,
    stages: u32,
    centroids: u32,
    #[serde(with = "serde_bytes")]
    codebooks_f16: Vec<u8>,
}

impl Serialize for Quantizer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let codebooks_f16 = self
            .codebooks
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        StoredQuantizer {
            dim: self.dim,
            stages: self.stages,
            centroids: self.centroids,
            codebooks_f16,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Quantizer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = StoredQuantizer::deserialize(d)?;
        if s.codebooks_f16.len() % 2 != 0 {
            return Err(serde::de::Error::custom("odd number of codebook bytes"));
        }
        let codebooks = s
            .codebooks_f16
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect();
        Ok(Quantizer::from_parts(
            s.dim,
            s.stages,
            s.centroids,
            codebooks,
        ))
    }
}

impl Quantizer {
    /// A quantiser from its codebooks (`stages × centroids × dim` values), rounded to f16 as
    /// they will be stored.
    pub fn from_parts(dim: u32, stages: u32, centroids: u32, mut codebooks: Vec<f32>) -> Self {
        codebooks
            .iter_mut()
            .for_each(|v| *v = half::f16::from_f32(*v).to_f32());
        let norms = codebooks
            .chunks_exact(dim.max(1) as usize)
            .map(|c| dot_f32(c, c))
            .collect();
        Quantizer {
            dim,
            stages,
            centroids,
            codebooks,
            norms,
        }
    }

    /// Code bytes per track.
    pub fn code_len(&self) -> usize {
        self.stages as usize
    }

    /// Checks sizes and values after decoding untrusted bytes.
    pub fn validate(&self, dim: usize) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidIndex(format!("quantiser: {why}")));
        if self.dim as usize != dim {
            return bad(format!("built for {}-d embeddings, not {dim}-d", self.dim));
        }
        let (m, k) = (self.stages as usize, self.centroids as usize);
        if !(1..=256).contains(&m) {
            return bad(format!("{m} stages"));
        }
        if !(1..=MAX_CENTROIDS).contains(&k) {
            return bad(format!("{k} centroids per codebook"));
        }
        if self.codebooks.len() != m * k * dim {
            return bad("the codebooks have the wrong size".into());
        }
        if !self.codebooks.iter().all(|v| v.is_finite()) {
            return bad("the codebooks hold non-finite values".into());
        }
        Ok(())
    }

    /// Centroid `code` of stage `stage`.
    pub fn codeword(&self, stage: usize, code: usize) -> &[f32] {
        let d = self.dim as usize;
        let start = (stage * self.centroids as usize + code) * d;
        &self.codebooks[start..start + d]
    }

    /// The codebook of one stage, `centroids × dim`.
    pub fn codebook(&self, stage: usize) -> &[f32] {
        let size = self.centroids as usize * self.dim as usize;
        &self.codebooks[stage * size..(stage + 1) * size]
    }

    /// `‖codeword‖²` of the centroids of one stage.
    pub fn codebook_norms(&self, stage: usize) -> &[f32] {
        let k = self.centroids as usize;
        &self.norms[stage * k..(stage + 1) * k]
    }

    /// The codes of `x`, stage by stage (greedy).
    pub fn encode(&self, x: &[f32]) -> Vec<u8> {
        let mut residual = x.to_vec();
        (0..self.stages as usize)
            .map(|m| {
                let code = self.nearest_in_stage(m, &residual);
                residual
                    .iter_mut()
                    .zip(self.codeword(m, code))
                    .for_each(|(r, c)| *r -= c);
                code as u8
            })
            .collect()
    }

    /// The centroid of stage `m` nearest to `r` (L2): `argmax 2⟨r, c⟩ − ‖c‖²`.
    pub fn nearest_in_stage(&self, m: usize, r: &[f32]) -> usize {
        let mut best = (0, f32::NEG_INFINITY);
        for (c, (word, norm)) in self
            .codebook(m)
            .chunks_exact(self.dim as usize)
            .zip(self.codebook_norms(m))
            .enumerate()
        {
            let s = 2.0 * dot_f32(word, r) - norm;
            if s > best.1 {
                best = (c, s);
            }
        }
        best.0
    }

    /// The vector that `codes` stand for.
    pub fn decode(&self, codes: &[u8]) -> Vec<f32> {
        let mut out = vec![0.0f32; self.dim as usize];
        for (m, &c) in codes.iter().enumerate() {
            out.iter_mut()
                .zip(self.codeword(m, c as usize))
                .for_each(|(o, w)| *o += w);
        }
        out
    }

    /// The lookup tables for scoring every track against `query` (`dim` values, normally unit
    /// length).
    pub fn adc_table(&self, query: &[f32]) -> AdcTable {
        let (m, k) = (self.stages as usize, self.centroids as usize);
        // Padded to 256 entries per stage so that a code byte indexes without a bounds check;
        // codes ≥ `centroids` are refused when a part loads.
        let mut lut = vec![[0.0f32; MAX_CENTROIDS]; m];
        for (stage, row) in lut.iter_mut().enumerate() {
            for (c, slot) in row.iter_mut().enumerate().take(k) {
                *slot = dot_f32(self.codeword(stage, c), query);
            }
        }
        AdcTable { lut }
    }
}

/// Per-query tables for ADC scoring (see the module docs).
#[derive(Debug, Clone)]
pub struct AdcTable {
    lut: Vec<[f32; MAX_CENTROIDS]>,
}

impl AdcTable {
    /// Approximate inner product of the query with the track coded `codes`:
    /// `Σ_m lut[m][codes[m]]`.
    #[inline]
    pub fn score(&self, codes: &[u8]) -> f32 {
        if let (Ok(c), Ok(t)) = (
            <&[u8; 16]>::try_from(codes),
            <&[[f32; MAX_CENTROIDS]; 16]>::try_from(self.lut.as_slice()),
        ) {
            return score16(t, c);
        }
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

/// The 16-byte case, unrolled: no bounds checks (a byte always indexes 256 entries), four
/// independent sums.
#[inline(always)]
fn score16(t: &[[f32; MAX_CENTROIDS]; 16], c: &[u8; 16]) -> f32 {
    let a = t[0][c[0] as usize] + t[4][c[4] as usize] + t[8][c[8] as usize] + t[12][c[12] as usize];
    let b = t[1][c[1] as usize] + t[5][c[5] as usize] + t[9][c[9] as usize] + t[13][c[13] as usize];
    let d =
        t[2][c[2] as usize] + t[6][c[6] as usize] + t[10][c[10] as usize] + t[14][c[14] as usize];
    let e =
        t[3][c[3] as usize] + t[7][c[7] as usize] + t[11][c[11] as usize] + t[15][c[15] as usize];
    (a + b) + (d + e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Quantizer {
        // 2-d, 2 stages of 3 centroids.
        Quantizer::from_parts(
            2,
            2,
            3,
            vec![
                1.0, 0.0, 0.0, 1.0, -1.0, 0.0, // stage 0
                0.0, 0.0, 0.125, 0.0, 0.0, 0.25, // stage 1
            ],
        )
    }

    #[test]
    fn encode_decode_and_adc_agree() {
        let q = toy();
        q.validate(2).unwrap();
        let codes = q.encode(&[1.1, 0.2]);
        assert_eq!(codes, vec![0, 2]);
        assert_eq!(q.decode(&codes), vec![1.0, 0.25]);
        let query = [0.6, 0.8];
        let exact = dot_f32(&q.decode(&codes), &query);
        assert!((q.adc_table(&query).score(&codes) - exact).abs() < 1e-6);
    }

    #[test]
    fn stored_form_round_trips_and_wrong_sizes_are_refused() {
        let q = toy();
        let bytes = bincode::serde::encode_to_vec(&q, bincode::config::standard()).unwrap();
        let (back, _): (Quantizer, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(back, q);
        assert!(toy().validate(3).is_err());
        let mut q = toy();
        q.codebooks.pop();
        assert!(q.validate(2).is_err());
        let mut q = toy();
        q.codebooks[0] = f32::NAN;
        assert!(q.validate(2).is_err());
    }
}
