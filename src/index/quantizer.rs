//! Compact codes for track embeddings: an inverted file with product-quantised residuals
//! (faiss's `IndexIVFPQ`), scored by asymmetric distance computation (ADC) with inner
//! products.
//!
//! - **Cells**: a coarse quantiser of `cells` centroids (k-means) puts every track in the cell
//!   of its nearest centroid. The codes part stores tracks cell by cell, so a search reads only
//!   the cells whose centroids score best against its query (`search::parted`).
//! - **Codes**: what the centroid leaves over, the residual, is cut into `subspaces` equal
//!   slices of `dim / subspaces` values; each slice is coded by one byte, its nearest codeword
//!   in that slice's **codebook** (`sub_centroids` ≤ 256 codewords). A track costs `subspaces`
//!   bytes; its cell is where it is stored, not in its code.
//! - **ADC**: the query stays exact. `⟨q, x⟩ ≈ ⟨q, centroid⟩ + Σ_s ⟨q_s, codebook_s[code_s]⟩`,
//!   so one lookup table of `subspaces × 256` inner products per query ([`AdcTable`]), plus one
//!   inner product per probed cell, makes scoring a track `subspaces` lookups and adds.
//!
//! Why this and not the residual quantiser of format 8 (16 full-size codebooks of 256, 1 MB
//! as f16): on the 600k synthetic store catalog the true top 10 of a dropped file are
//! near-ties, and 16-byte codes, whatever their kind, keep only 0.72 of them in a shortlist of
//! 200. 32-byte PQ codes in 1,024 cells keep 0.96 (faiss, `bench/results/ivf-layouts.json`),
//! and their codebooks are 32 kB, not 1 MB: a cold search fetches 0.16 MB of quantiser
//! instead of 1 MB, and reads ~600 kB of codes either way.
//!
//! Every value is stored as int8 with a scale (per coarse centroid, per codebook); codes are
//! found against the rounded values, so nothing is lost by storing them so. Training (k-means)
//! runs at build time only: [`crate::index::train`].

use crate::error::{Error, Result};
use crate::index::vectors::dot_f32;

/// Most codewords per codebook: codes are one byte.
pub const MAX_CENTROIDS: usize = 256;
/// Most cells (coarse centroids): 2,048 × 128 int8 values are 0.26 MB, fetched by every cold
/// search that reads cells.
pub const MAX_CELLS: usize = 2048;

/// Rows of f32 values stored as int8 with one scale per group of `group` values.
#[derive(Debug, Clone, PartialEq)]
struct Int8Rows {
    /// `scale · int8`, widened.
    values: Vec<f32>,
    scales: Vec<f32>,
    stored: Vec<i8>,
}

impl Int8Rows {
    /// Rounds `values` to int8, one scale (largest magnitude / 127) per `group` values.
    fn round(values: &[f32], group: usize) -> Self {
        let mut scales = Vec::with_capacity(values.len() / group.max(1));
        let mut stored = Vec::with_capacity(values.len());
        for chunk in values.chunks(group.max(1)) {
            let peak = chunk.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let scale = if peak > 0.0 { peak / 127.0 } else { 1.0 };
            scales.push(scale);
            for v in chunk {
                stored.push((v / scale).round().clamp(-127.0, 127.0) as i8);
            }
        }
        Self::widen(scales, stored, group)
    }

    fn widen(scales: Vec<f32>, stored: Vec<i8>, group: usize) -> Self {
        let mut values = Vec::with_capacity(stored.len());
        for (i, &v) in stored.iter().enumerate() {
            values.push(scales[i / group.max(1)] * f32::from(v));
        }
        Int8Rows {
            values,
            scales,
            stored,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        for s in &self.scales {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out.extend(self.stored.iter().map(|&v| v as u8));
    }

    /// Reads `groups` scales then `groups × group` values from the front of `bytes`; `None`
    /// when it is too short.
    fn read(bytes: &mut &[u8], groups: usize, group: usize) -> Option<Self> {
        let scales = take(bytes, 4 * groups)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let stored = take(bytes, groups * group)?
            .iter()
            .map(|&v| v as i8)
            .collect();
        Some(Self::widen(scales, stored, group))
    }
}

/// The first `n` bytes of `bytes`, which then start after them.
fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if bytes.len() < n {
        return None;
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Some(head)
}

/// An inverted file with product-quantised residuals (see the module docs).
///
/// Stored (the quantiser part's payload) as: `u32` LE `dim`, `cells`, `subspaces`,
/// `sub_centroids`; the cells' f32 LE scales, then their `cells × dim` int8 values; the
/// codebooks' f32 LE scales (one per slice), then their int8 values.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantizer {
    /// Values per embedding.
    pub dim: u32,
    /// Cells: coarse centroids (at most [`MAX_CELLS`]).
    pub cells: u32,
    /// Slices of the residual = code bytes per track (divides `dim`).
    pub subspaces: u32,
    /// Codewords per slice's codebook (at most [`MAX_CENTROIDS`]).
    pub sub_centroids: u32,
    /// `cells × dim`, one scale per centroid.
    coarse: Int8Rows,
    /// `subspaces × sub_centroids × (dim / subspaces)`, one scale per codebook.
    codebooks: Int8Rows,
    /// `‖centroid‖²` of every cell, for assigning cells.
    coarse_norms: Vec<f32>,
}

impl Quantizer {
    /// A quantiser from its coarse centroids (`cells × dim`) and codebooks
    /// (`subspaces × sub_centroids × dim / subspaces`), rounded to int8 as they will be stored.
    pub fn from_parts(
        dim: u32,
        subspaces: u32,
        sub_centroids: u32,
        coarse: &[f32],
        codebooks: &[f32],
    ) -> Self {
        let d = dim.max(1) as usize;
        let cells = (coarse.len() / d) as u32;
        let per_book = sub_centroids as usize * d / subspaces.max(1) as usize;
        Self::assemble(
            dim,
            cells,
            subspaces,
            sub_centroids,
            Int8Rows::round(coarse, d),
            Int8Rows::round(codebooks, per_book),
        )
    }

    fn assemble(
        dim: u32,
        cells: u32,
        subspaces: u32,
        sub_centroids: u32,
        coarse: Int8Rows,
        codebooks: Int8Rows,
    ) -> Self {
        let coarse_norms = coarse
            .values
            .chunks_exact(dim.max(1) as usize)
            .map(|c| dot_f32(c, c))
            .collect();
        Quantizer {
            dim,
            cells,
            subspaces,
            sub_centroids,
            coarse,
            codebooks,
            coarse_norms,
        }
    }

    /// The stored form (see the type's docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [self.dim, self.cells, self.subspaces, self.sub_centroids] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        self.coarse.write(&mut out);
        self.codebooks.write(&mut out);
        out
    }

    /// Reads the stored form, checked as [`Self::validate`] checks, for `dim`-d embeddings.
    /// (The checks are written once here, not by calling `validate`: this runs in the search
    /// module, the first thing a page downloads.)
    pub fn from_bytes(mut bytes: &[u8], dim: usize) -> Result<Self> {
        let wrong = || {
            Error::InvalidIndex(format!(
                "quantiser: not the shape of a quantiser for {dim}-d embeddings, or not the size \
                 its header says"
            ))
        };
        let mut header = [0u32; 4];
        for h in &mut header {
            let b = take(&mut bytes, 4).ok_or_else(wrong)?;
            *h = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        let [d, cells, m, k] = header;
        if d as usize != dim
            || m == 0
            || d % m != 0
            || !(1..=MAX_CELLS as u32).contains(&cells)
            || !(1..=MAX_CENTROIDS as u32).contains(&k)
        {
            return Err(wrong());
        }
        let coarse = Int8Rows::read(&mut bytes, cells as usize, d as usize).ok_or_else(wrong)?;
        let codebooks =
            Int8Rows::read(&mut bytes, m as usize, (k * (d / m)) as usize).ok_or_else(wrong)?;
        if !bytes.is_empty()
            || !coarse
                .scales
                .iter()
                .chain(&codebooks.scales)
                .all(|v| v.is_finite())
        {
            return Err(wrong());
        }
        Ok(Quantizer::assemble(d, cells, m, k, coarse, codebooks))
    }

    /// Code bytes per track.
    pub fn code_len(&self) -> usize {
        self.subspaces as usize
    }

    /// Values per slice of the residual.
    pub fn sub_dim(&self) -> usize {
        (self.dim / self.subspaces.max(1)) as usize
    }

    /// Checks sizes and values after decoding untrusted bytes.
    pub fn validate(&self, dim: usize) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidIndex(format!("quantiser: {why}")));
        if self.dim as usize != dim {
            return bad(format!("built for {}-d embeddings, not {dim}-d", self.dim));
        }
        let (m, k, cells) = (
            self.subspaces as usize,
            self.sub_centroids as usize,
            self.cells as usize,
        );
        if m == 0 || !dim.is_multiple_of(m) {
            return bad(format!("{m} slices do not divide {dim} values"));
        }
        if !(1..=MAX_CENTROIDS).contains(&k) {
            return bad(format!("{k} codewords per codebook"));
        }
        if !(1..=MAX_CELLS).contains(&cells) {
            return bad(format!("{cells} cells"));
        }
        if self.coarse.values.len() != cells * dim || self.codebooks.values.len() != k * dim {
            return bad("the codebooks have the wrong size".into());
        }
        if !self
            .coarse
            .scales
            .iter()
            .chain(&self.codebooks.scales)
            .all(|v| v.is_finite())
        {
            return bad("the codebooks hold non-finite values".into());
        }
        Ok(())
    }

    /// The centroid of cell `c`.
    pub fn centroid(&self, c: usize) -> &[f32] {
        let d = self.dim as usize;
        &self.coarse.values[c * d..(c + 1) * d]
    }

    /// Every cell's centroid, `cells × dim`.
    pub fn centroids(&self) -> &[f32] {
        &self.coarse.values
    }

    /// `‖centroid‖²` of every cell.
    pub fn centroid_norms(&self) -> &[f32] {
        &self.coarse_norms
    }

    /// The codebook of slice `s`, `sub_centroids × sub_dim`.
    pub fn codebook(&self, s: usize) -> &[f32] {
        let size = self.sub_centroids as usize * self.sub_dim();
        &self.codebooks.values[s * size..(s + 1) * size]
    }

    /// The cell of `x`: its nearest centroid (L2), `argmax 2⟨x, c⟩ − ‖c‖²`.
    pub fn cell_of(&self, x: &[f32]) -> usize {
        let mut best = (0, f32::NEG_INFINITY);
        for (c, norm) in self.coarse_norms.iter().enumerate() {
            let s = 2.0 * dot_f32(self.centroid(c), x) - norm;
            if s > best.1 {
                best = (c, s);
            }
        }
        best.0
    }

    /// The code of `residual` (`x` minus its cell's centroid): each slice's nearest codeword.
    pub fn encode_residual(&self, residual: &[f32]) -> Vec<u8> {
        let sd = self.sub_dim();
        residual
            .chunks_exact(sd)
            .enumerate()
            .map(|(s, slice)| {
                let mut best = (0, f32::INFINITY);
                for (c, word) in self.codebook(s).chunks_exact(sd).enumerate() {
                    let d: f32 = word.iter().zip(slice).map(|(a, b)| (a - b) * (a - b)).sum();
                    if d < best.1 {
                        best = (c, d);
                    }
                }
                best.0 as u8
            })
            .collect()
    }

    /// The cell and code of `x`.
    pub fn encode(&self, x: &[f32]) -> (usize, Vec<u8>) {
        let cell = self.cell_of(x);
        let residual: Vec<f32> = x
            .iter()
            .zip(self.centroid(cell))
            .map(|(a, b)| a - b)
            .collect();
        (cell, self.encode_residual(&residual))
    }

    /// The vector that `cell` and `codes` stand for. A code past its codebook's codewords adds
    /// nothing, as it scores nothing in [`AdcTable::score`] (codes are not checked when a part
    /// loads).
    pub fn decode(&self, cell: usize, codes: &[u8]) -> Vec<f32> {
        let sd = self.sub_dim();
        let mut out = self.centroid(cell).to_vec();
        for (s, &c) in codes.iter().enumerate().take(self.code_len()) {
            let Some(word) = self.codebook(s).get(c as usize * sd..(c as usize + 1) * sd) else {
                continue;
            };
            out[s * sd..(s + 1) * sd]
                .iter_mut()
                .zip(word)
                .for_each(|(o, w)| *o += w);
        }
        out
    }

    /// The lookup tables for scoring residual codes against `query` (`dim` values, normally
    /// unit length); add `⟨query, centroid⟩` of the track's cell.
    pub fn adc_table(&self, query: &[f32]) -> AdcTable {
        let (m, k, sd) = (
            self.subspaces as usize,
            self.sub_centroids as usize,
            self.sub_dim(),
        );
        // Padded to 256 entries per slice so that a code byte indexes without a bounds check;
        // codes ≥ `sub_centroids` are refused when a part loads.
        let mut lut = vec![[0.0f32; MAX_CENTROIDS]; m];
        for (s, row) in lut.iter_mut().enumerate() {
            let q = &query[s * sd..(s + 1) * sd];
            for (slot, word) in row
                .iter_mut()
                .zip(self.codebook(s).chunks_exact(sd))
                .take(k)
            {
                *slot = dot_f32(word, q);
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
    /// Approximate inner product of the query with the residual coded `codes`:
    /// `Σ_s lut[s][codes[s]]`.
    #[inline]
    pub fn score(&self, codes: &[u8]) -> f32 {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Quantizer {
        // 4-d, 2 cells, 2 slices of 2 values with 3 codewords each.
        Quantizer::from_parts(
            4,
            2,
            3,
            &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            &[
                0.0, 0.0, 0.25, 0.0, 0.0, 0.25, // slice 0
                0.0, 0.0, 0.5, 0.0, 0.0, -0.5, // slice 1
            ],
        )
    }

    #[test]
    fn encode_decode_and_adc_agree() {
        let q = toy();
        q.validate(4).unwrap();
        let x = [1.2, 0.05, 0.0, -0.45];
        let (cell, codes) = q.encode(&x);
        assert_eq!((cell, codes.clone()), (0, vec![1, 2]));
        // Stored as int8 with a scale per centroid and per codebook: within half a step
        // (peak / 254) of the values given.
        let decoded = q.decode(cell, &codes);
        let want = [1.25, 0.0, 0.0, -0.5];
        assert!(
            decoded
                .iter()
                .zip(want)
                .all(|(a, b)| (a - b).abs() < 1.0 / 254.0)
        );
        let query = [0.5, 0.5, 0.5, 0.5];
        let exact = dot_f32(&decoded, &query);
        let adc = dot_f32(q.centroid(cell), &query) + q.adc_table(&query).score(&codes);
        assert!((adc - exact).abs() < 1e-6);
        // Codes past the codebooks' 3 codewords (no part check refuses them) count for nothing.
        assert_eq!(q.decode(1, &[200, 3]), q.centroid(1));
        assert_eq!(q.adc_table(&query).score(&[200, 3]), 0.0);
    }

    #[test]
    fn stored_form_round_trips_and_wrong_sizes_are_refused() {
        let q = toy();
        let bytes = q.to_bytes();
        assert_eq!(Quantizer::from_bytes(&bytes, 4).unwrap(), q);
        assert!(Quantizer::from_bytes(&bytes, 8).is_err());
        assert!(Quantizer::from_bytes(&bytes[..bytes.len() - 1], 4).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Quantizer::from_bytes(&longer, 4).is_err());
        // A header that promises more cells than the bytes hold.
        let mut more = bytes.clone();
        more[4] = 3;
        assert!(Quantizer::from_bytes(&more, 4).is_err());
        // A non-finite scale.
        let mut nan = bytes;
        nan[16..20].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Quantizer::from_bytes(&nan, 4).is_err());
    }
}
