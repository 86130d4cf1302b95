//! Every track's nearest neighbours, computed at publication time for the neighbours part
//! ([`super::parts::neighbours`]).
//!
//! Scores are what a page's re-ranked search computes: the cosine of the query track's int8
//! row (dequantised, unit length) with each candidate's dequantised int8 row. Small catalogs
//! are scanned exhaustively; larger ones probe the quantiser's cells nearest
//! to each track (an inverted file over codes the index already has), which holds the true top
//! 10 for ≥ 0.99 of tracks at the default probe count (measured by [`recall_at`] in
//! `bench/parts`, and in this module's tests).

use super::vectors::{dot_f32, l2_normalize};
use crate::search::TopK;

/// Catalogs up to this many tracks are scanned exhaustively (exact lists).
pub const EXACT_UP_TO: usize = 20_000;
/// Most cells probed per track, whatever the catalog's size.
pub const MAX_PROBES: usize = 48;

/// Cells probed per track in larger catalogs, for `cells` cells: 3 in 32 of them, at most
/// [`MAX_PROBES`]. Measured with faiss's IVF over the synthetic store catalogs (1,000 queries,
/// true top 10 against an exact scan): at 600k tracks in 1,000 cells, 48 probes find all that
/// 192 find (0.9944; the rest are ties between identical vectors); at 2M in 2,048 cells 48 find
/// 0.9928 against 0.9931 for 192. A share of the cells made the lists' cost grow with the square
/// of the catalog (2.5 hours projected at 2M on 2 cores); a fixed count makes a track's cost its
/// probed cells' size: linear in the catalog while the cells grow with it, and growing again
/// beyond [`crate::index::quantizer::MAX_CELLS`] cells (1.2M tracks).
pub fn default_probes(cells: usize) -> usize {
    (cells * 3)
        .div_ceil(32)
        .clamp(1, MAX_PROBES.min(cells.max(1)))
}

/// What the lists are computed from: every position's row and cell.
pub struct NeighbourInput<'a> {
    /// Values per row.
    pub dim: usize,
    /// Dequantised int8 rows, `positions × dim`, in global position order.
    pub rows: &'a [f32],
    /// False where the track was removed (it is neither listed nor given a list).
    pub live: &'a [bool],
    /// The cell of each position.
    pub cells: &'a [u32],
    /// The cells' centroids, `cells × dim`.
    pub centroids: &'a [f32],
}

/// For every position, its `k` nearest live neighbours (itself excluded) as `(score,
/// position)`, best first; empty for removed positions. `probes` cells are scanned per track
/// once the catalog is larger than [`EXACT_UP_TO`].
pub fn nearest_neighbours(input: &NeighbourInput, k: usize, probes: usize) -> Vec<Vec<(f32, u32)>> {
    let all: Vec<u32> = (0..input.live.len() as u32).collect();
    nearest_neighbours_of(input, &all, k, probes)
}

/// [`nearest_neighbours`] of the tracks at `positions` only (in that order).
pub fn nearest_neighbours_of(
    input: &NeighbourInput,
    positions: &[u32],
    k: usize,
    probes: usize,
) -> Vec<Vec<(f32, u32)>> {
    NeighbourSearch::new(input).lists(positions, k, probes)
}

/// The live positions of every cell (one cell holding them all where the catalog is scanned
/// exhaustively), built once, so that a large catalog's lists can be computed a block of
/// positions at a time (4 bytes per track) and written out before the next block.
pub struct NeighbourSearch<'a> {
    input: &'a NeighbourInput<'a>,
    exact: bool,
    n_cells: usize,
    members: Vec<Vec<u32>>,
}

impl<'a> NeighbourSearch<'a> {
    /// Sorts the live positions of `input` into its cells.
    pub fn new(input: &'a NeighbourInput<'a>) -> Self {
        let n = input.live.len();
        let exact = n <= EXACT_UP_TO;
        let n_cells = input.centroids.len() / input.dim.max(1);
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); n_cells.max(1)];
        for p in 0..n {
            if input.live[p] {
                let cell = if exact { 0 } else { input.cells[p] as usize };
                members[cell.min(n_cells.saturating_sub(1))].push(p as u32);
            }
        }
        NeighbourSearch {
            input,
            exact,
            n_cells,
            members,
        }
    }

    /// The lists of the tracks at `positions` (in that order), as [`nearest_neighbours`]
    /// gives them; spread over the CLI's threads.
    pub fn lists(&self, positions: &[u32], k: usize, probes: usize) -> Vec<Vec<(f32, u32)>> {
        #[cfg(feature = "catalog")]
        {
            use rayon::prelude::*;
            positions
                .par_iter()
                .map(|&p| self.one(p, k, probes))
                .collect()
        }
        #[cfg(not(feature = "catalog"))]
        {
            positions.iter().map(|&p| self.one(p, k, probes)).collect()
        }
    }

    /// The list of the track at `p`.
    fn one(&self, p: u32, k: usize, probes: usize) -> Vec<(f32, u32)> {
        let (input, dim, n_cells) = (self.input, self.input.dim, self.n_cells);
        let p = p as usize;
        if !input.live.get(p).copied().unwrap_or(false) {
            return Vec::new();
        }
        let mut q = input.rows[p * dim..(p + 1) * dim].to_vec();
        l2_normalize(&mut q);
        let cells: Vec<usize> = if self.exact {
            vec![0]
        } else {
            let mut scored: Vec<(f32, usize)> = (0..n_cells)
                .map(|c| (dot_f32(&input.centroids[c * dim..(c + 1) * dim], &q), c))
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            scored.iter().take(probes.max(1)).map(|&(_, c)| c).collect()
        };
        let mut best = TopK::new(k);
        let mut threshold = best.threshold();
        for c in cells {
            for &t in &self.members[c] {
                if t as usize == p {
                    continue;
                }
                let s = dot_f32(&input.rows[t as usize * dim..(t as usize + 1) * dim], &q);
                if s > threshold {
                    best.push(s, t as usize);
                    threshold = best.threshold();
                }
            }
        }
        best.into_sorted()
            .into_iter()
            .map(|(s, t)| (s, t as u32))
            .collect()
    }
}

/// The share of the exact top `at` of `sample` positions found in their lists (`lists[i]`:
/// the list of `sample[i]`): a check of the cell probing against an exhaustive scan.
pub fn recall_at(
    input: &NeighbourInput,
    lists: &[Vec<(f32, u32)>],
    sample: &[u32],
    at: usize,
) -> f64 {
    let exact_input = NeighbourInput {
        centroids: &input.centroids[..0],
        ..*input
    };
    let (mut found, mut total) = (0usize, 0usize);
    for (&p, list) in sample.iter().zip(lists) {
        let truth = exact_one(&exact_input, p as usize, at);
        let got: std::collections::HashSet<u32> = list.iter().take(at).map(|&(_, t)| t).collect();
        total += truth.len();
        found += truth.iter().filter(|t| got.contains(t)).count();
    }
    if total == 0 {
        1.0
    } else {
        found as f64 / total as f64
    }
}

fn exact_one(input: &NeighbourInput, p: usize, k: usize) -> Vec<u32> {
    let dim = input.dim;
    let mut q = input.rows[p * dim..(p + 1) * dim].to_vec();
    l2_normalize(&mut q);
    let mut best = TopK::new(k);
    for t in 0..input.live.len() {
        if t != p && input.live[t] {
            best.push(dot_f32(&input.rows[t * dim..(t + 1) * dim], &q), t);
        }
    }
    best.into_sorted()
        .into_iter()
        .map(|(_, t)| t as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clustered unit vectors with a k-means-like cell per cluster centre.
    fn clustered(n: usize, dim: usize, clusters: usize) -> (Vec<f32>, Vec<u32>, Vec<f32>) {
        let mut state = 12345u64;
        let mut rand = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 10_000) as f32 / 5_000.0 - 1.0
        };
        let mut centres = Vec::new();
        for _ in 0..clusters {
            let mut c: Vec<f32> = (0..dim).map(|_| rand()).collect();
            l2_normalize(&mut c);
            centres.extend(c);
        }
        let mut rows = Vec::new();
        let mut cells = Vec::new();
        for i in 0..n {
            let c = i % clusters;
            let mut v: Vec<f32> = (0..dim)
                .map(|d| centres[c * dim + d] + 0.3 * rand())
                .collect();
            l2_normalize(&mut v);
            rows.extend(v);
            cells.push(c as u32);
        }
        (rows, cells, centres)
    }

    #[test]
    fn probing_finds_what_an_exhaustive_scan_finds() {
        let (n, dim) = (EXACT_UP_TO + 1000, 16);
        let (rows, cells, centroids) = clustered(n, dim, 64);
        let mut live = vec![true; n];
        live[5] = false;
        let input = NeighbourInput {
            dim,
            rows: &rows,
            live: &live,
            cells: &cells,
            centroids: &centroids,
        };
        let lists = nearest_neighbours(&input, 10, 8);
        assert!(lists[5].is_empty(), "a removed track has no list");
        assert!(lists.iter().all(|l| l.iter().all(|&(_, t)| t != 5)));
        assert!(
            lists[0].iter().all(|&(_, t)| t != 0),
            "not its own neighbour"
        );
        assert!(lists[0].windows(2).all(|w| w[0].0 >= w[1].0), "best first");
        let sample: Vec<u32> = (0..n as u32).step_by(211).filter(|&p| p != 5).collect();
        let sampled: Vec<_> = sample.iter().map(|&p| lists[p as usize].clone()).collect();
        let recall = recall_at(&input, &sampled, &sample, 10);
        assert!(recall >= 0.99, "recall@10 {recall}");
    }
}
