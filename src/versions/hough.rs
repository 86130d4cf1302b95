//! Alignment proposals: landmark pairs with equal hashes vote for a line `reference time =
//! tempo · query time + offset` (a Hough transform over 101 tempo ratios and offset bins), and
//! the best line is refined by least squares. [`super::verify`] then checks each proposal peak
//! by peak.

use super::Landmark;
use super::verify::{MAX_PITCH_UNITS, MAX_TEMPO_RATIO, MIN_TEMPO_RATIO};

/// Step of the tempo grid: over 3 minutes (11,250 frames) a ratio off by half a step drifts
/// by 11 frames, two offset bins.
const TEMPO_STEP: f32 = 0.001;
/// Width of an offset bin, in frames (≈ 0.1 s).
const OFFSET_BIN_FRAMES: f32 = 6.0;
/// Widest spread of offset bins counted in a histogram rather than by sorting.
const MAX_DENSE_BINS: i64 = 1 << 20;
/// Hashes this common in both tracks (product of their counts) are skipped: a held note or a
/// drone repeats one hash everywhere and says nothing about where.
const MAX_PAIRS_PER_HASH: usize = 64;

#[derive(Debug, Clone, Copy)]
/// Two landmarks with equal hashes: their times in the query and the reference (frames) and the
/// pitch shift between them (pitch units).
pub(super) struct Pair {
    pub(super) tq: f32,
    pub(super) tr: f32,
    pub(super) dp: f32,
}

/// Every pair of landmarks with equal hashes whose pitch shift and span ratio are in range.
pub(super) fn join(q: &[Landmark], r: &[Landmark]) -> Vec<Pair> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < q.len() && j < r.len() {
        let h = q[i].hash;
        if h < r[j].hash {
            i += 1;
            continue;
        }
        if h > r[j].hash {
            j += 1;
            continue;
        }
        let i_end = i + q[i..].iter().take_while(|l| l.hash == h).count();
        let j_end = j + r[j..].iter().take_while(|l| l.hash == h).count();
        if (i_end - i) * (j_end - j) <= MAX_PAIRS_PER_HASH {
            for a in &q[i..i_end] {
                for b in &r[j..j_end] {
                    let dp = b.pitch - a.pitch;
                    let stretch = b.span / a.span;
                    if dp.abs() <= MAX_PITCH_UNITS
                        && (MIN_TEMPO_RATIO - 0.05..=MAX_TEMPO_RATIO + 0.05).contains(&stretch)
                    {
                        out.push(Pair {
                            tq: a.frame,
                            tr: b.frame,
                            dp,
                        });
                    }
                }
            }
        }
        i = i_end;
        j = j_end;
    }
    out
}

/// The (tempo ratio, offset in frames) with the most pairs near it.
pub(super) fn best_line(pairs: &[Pair]) -> Option<(f32, f32)> {
    let steps = ((MAX_TEMPO_RATIO - MIN_TEMPO_RATIO) / TEMPO_STEP).round() as usize;
    (0..=steps)
        .filter_map(|i| {
            let ratio = MIN_TEMPO_RATIO + i as f32 * TEMPO_STEP;
            best_offset(pairs, ratio).map(|(o, n)| (n, ratio, o))
        })
        // Most votes; of equal votes the ratio nearest 1 (an unchanged tempo is likeliest).
        .max_by(|a, b| {
            a.0.cmp(&b.0)
                .then((b.1 - 1.0).abs().total_cmp(&(a.1 - 1.0).abs()))
        })
        .map(|(_, ratio, o)| (ratio, o))
}

/// At tempo `ratio`, the offset (frames) with the most pairs within one bin either side, and
/// how many.
pub(super) fn best_offset(pairs: &[Pair], ratio: f32) -> Option<(f32, usize)> {
    if pairs.is_empty() {
        return None;
    }
    let bin = |p: &Pair| floor_i32((p.tr - ratio * p.tq) / OFFSET_BIN_FRAMES);
    // Votes per bin, counted in a dense histogram (bins span at most the two tracks' lengths:
    // a few thousand; this runs for every tempo ratio of every candidate pair, and sorting the
    // bins instead was half of an audit's time), then the best run of two neighbouring bins,
    // the first of equals in bin order.
    let (lo, hi) = pairs
        .iter()
        .map(bin)
        .fold((i32::MAX, i32::MIN), |(lo, hi), b| (lo.min(b), hi.max(b)));
    let span = i64::from(hi) - i64::from(lo);
    let mut best = (0usize, 0.0f32);
    let mut consider = |b: i32, n: usize, next: usize| {
        if n + next > best.0 {
            best = (
                n + next,
                (b as f32 + if next > 0 { 1.0 } else { 0.5 }) * OFFSET_BIN_FRAMES,
            );
        }
    };
    // A histogram when the pairs fill it well; few pairs (most candidate pairs of an audit,
    // which are not versions) are sorted instead of scanning thousands of empty bins.
    if span <= MAX_DENSE_BINS && span < 8 * pairs.len() as i64 {
        let mut dense = vec![0usize; span as usize + 2];
        for p in pairs {
            dense[(bin(p) - lo) as usize] += 1;
        }
        for k in 0..=span as usize {
            if dense[k] > 0 {
                consider(lo + k as i32, dense[k], dense[k + 1]);
            }
        }
    } else {
        // Sorted runs: few pairs, or bins spread too far for a histogram (a damaged
        // fingerprint's times).
        let mut sorted: Vec<i32> = pairs.iter().map(bin).collect();
        sorted.sort_unstable();
        let mut counts: Vec<(i32, usize)> = Vec::new();
        for b in sorted {
            match counts.last_mut() {
                Some((last, n)) if *last == b => *n += 1,
                _ => counts.push((b, 1)),
            }
        }
        for (k, &(b, n)) in counts.iter().enumerate() {
            let next = counts
                .get(k + 1)
                .filter(|&&(b2, _)| b2 == b + 1)
                .map_or(0, |&(_, n2)| n2);
            consider(b, n, next);
        }
    }
    Some((best.1, best.0))
}

/// `x.floor() as i32` (saturating), without a call to the C library's `floorf`, which the
/// baseline x86-64 target cannot inline.
fn floor_i32(x: f32) -> i32 {
    let i = x as i32;
    if (i as f32) > x {
        i.saturating_sub(1)
    } else {
        i
    }
}

/// The least-squares line `tr = ratio · tq + offset` through the pairs near a first guess
/// (twice the inlier distance), the ratio kept within the searched range.
pub(super) fn refine(pairs: &[Pair], ratio: f32, offset: f32) -> (f32, f32) {
    let near: Vec<&Pair> = pairs
        .iter()
        .filter(|p| (p.tr - ratio * p.tq - offset).abs() <= 2.0 * OFFSET_BIN_FRAMES)
        .collect();
    if near.len() < 3 {
        return (ratio, offset);
    }
    let n = near.len() as f64;
    let mx = near.iter().map(|p| f64::from(p.tq)).sum::<f64>() / n;
    let my = near.iter().map(|p| f64::from(p.tr)).sum::<f64>() / n;
    let sxx: f64 = near.iter().map(|p| (f64::from(p.tq) - mx).powi(2)).sum();
    let sxy: f64 = near
        .iter()
        .map(|p| (f64::from(p.tq) - mx) * (f64::from(p.tr) - my))
        .sum();
    // Pairs spread over under a second cannot say more about the tempo than the grid did.
    if sxx < n * 60.0 * 60.0 {
        let o = near.iter().map(|p| p.tr - ratio * p.tq).sum::<f32>() / near.len() as f32;
        return (ratio, o);
    }
    let s = ((sxy / sxx) as f32).clamp(MIN_TEMPO_RATIO, MAX_TEMPO_RATIO);
    (s, (my - f64::from(s) * mx) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_is_the_standard_floor() {
        for x in [
            0.0f32,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.999,
            -2.001,
            1e9,
            -1e9,
            3e9,
            -3e9,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -2_147_483_904.0,
        ] {
            assert_eq!(floor_i32(x), x.floor() as i32, "{x}");
        }
        for k in -5000..5000 {
            let x = k as f32 * 0.37;
            assert_eq!(floor_i32(x), x.floor() as i32, "{x}");
        }
    }
}
