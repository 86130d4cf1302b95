//! Stage 2 of a search on a published index: which tracks may be returned, which cells of the
//! codes to read (an inverted file over the quantiser's cells), and the ADC shortlist over
//! them.

use crate::index::parted::{PartKey, PartedIndex};
use crate::index::vectors::dot_f32;
use crate::search::{TagFilter, TopK};

/// Cells that a search probes while the whole codes are not loaded: those whose centroids score
/// best against the query. At 600k tracks (1,000 cells of 600), a dropped file's recall@10 is
/// 0.885 with 8 cells, 0.932 with 16, 0.952 with 32 and 0.957 with every cell, for about
/// 0.6 MB of codes at 32 (`bench/results/parts-native-600000.json`).
pub const PROBE_CELLS: usize = 32;
/// Cells are probed (best first) until at least this many eligible tracks lie in them (or every
/// cell is probed), so a small catalog, or a filter that leaves few tracks, reads more cells. At
/// 600k synthetic tracks with a 1% filter, dropped files: 250 gives recall@10 0.995 for 3.8 MB
/// of catalog data, 500 gives 0.997 for 4.6 MB, 2,000 gives 0.997 for 9.5 MB
/// (`bench/results/parts-native-600000.json`, 60 queries).
pub const PROBE_MIN_ELIGIBLE: usize = 500;

/// Bit `p` set where position `p` may be returned: passes the filter, not removed, not
/// excluded.
pub(crate) fn eligible_mask(index: &PartedIndex, filter: &TagFilter, excluded: &[u32]) -> Vec<u64> {
    let n = index.len();
    let mut mask = if filter.is_empty() {
        let mut m = vec![u64::MAX; n.div_ceil(64)];
        if !n.is_multiple_of(64) {
            *m.last_mut().unwrap() = (1u64 << (n % 64)) - 1;
        }
        m
    } else {
        filter.mask(index)
    };
    for (m, r) in mask.iter_mut().zip(index.removed_mask()) {
        *m &= !r;
    }
    for &p in excluded {
        mask[p as usize / 64] &= !(1 << (p % 64));
    }
    mask
}

/// The cells to probe, best first: every cell once the whole codes are in (unless `probes`
/// says otherwise), else the [`PROBE_CELLS`] (or `probes`) whose centroids score
/// best against `query`, then more while fewer than `min_eligible` eligible tracks (bits of
/// `mask`) lie in them.
pub(super) fn probed_cells(
    index: &PartedIndex,
    query: &[f32],
    mask: &[u64],
    probes: Option<usize>,
    min_eligible: usize,
) -> Vec<u32> {
    let q = index.quantizer().expect("heads loaded");
    let cells = q.cells as usize;
    let whole =
        (0..index.manifest().generations.len()).all(|g| index.has(PartKey::Codes(g as u32)));
    let probes = match probes {
        Some(n) => n.min(cells),
        None if whole => return (0..cells as u32).collect(),
        None => PROBE_CELLS.min(cells),
    };
    // Every cell, best first (the shortlist's TopK: no other sort in the search module).
    let mut order = TopK::new(cells);
    for c in 0..cells {
        order.push(dot_f32(q.centroid(c), query), c);
    }
    let eligible_in = |c: usize| -> usize {
        index
            .manifest()
            .generations
            .iter()
            .map(|g| {
                let head = &index
                    .codes_state(g.generation as usize)
                    .expect("heads in")
                    .head;
                let r = head.cell(c);
                let first = g.first_position as usize;
                count_bits(mask, first + r.start, first + r.end)
            })
            .sum()
    };
    let mut chosen = Vec::new();
    let mut eligible = 0;
    for (_, c) in order.into_sorted() {
        if chosen.len() >= probes && eligible >= min_eligible {
            break;
        }
        eligible += eligible_in(c);
        chosen.push(c as u32);
    }
    chosen
}

/// Set bits of `mask` in positions `from..to`.
fn count_bits(mask: &[u64], from: usize, to: usize) -> usize {
    (from..to)
        .filter(|&p| mask[p / 64] & (1 << (p % 64)) != 0)
        .count()
}

/// Stage 2: ADC over the eligible tracks of the probed `cells`, the `len` best.
pub(super) fn adc_shortlist(
    index: &PartedIndex,
    query: &[f32],
    cells: &[u32],
    mask: &[u64],
    len: usize,
) -> Vec<(f32, u32)> {
    let quantizer = index.quantizer().expect("heads loaded");
    let table = quantizer.adc_table(query);
    let m = quantizer.code_len();
    let mut best = TopK::new(len);
    let mut threshold = best.threshold();
    for g in &index.manifest().generations {
        let state = index
            .codes_state(g.generation as usize)
            .expect("heads loaded");
        let first = g.first_position as usize;
        for &c in cells {
            let range = state.head.cell(c as usize);
            if range.is_empty() {
                continue;
            }
            // ⟨q, x⟩ ≈ ⟨q, centroid⟩ + the residual's ADC score.
            let offset = dot_f32(quantizer.centroid(c as usize), query);
            let codes = &state.codes[range.start * m..range.end * m];
            for (i, code) in codes.chunks_exact(m).enumerate() {
                let p = first + range.start + i;
                if mask[p / 64] & (1 << (p % 64)) == 0 {
                    continue;
                }
                let score = offset + table.score(code);
                if score > threshold {
                    best.push(score, p);
                    threshold = best.threshold();
                }
            }
        }
    }
    best.into_sorted()
        .into_iter()
        .map(|(s, p)| (s, p as u32))
        .collect()
}
