//! Whether one track's audio is in another's: their landmarks joined by hash, then a vote for
//! one pitch shift, one tempo ratio and one or more time offsets (a cut-down made of an intro
//! and an ending, or a loop, lines up at several offsets of the same tempo).
//!
//! The vote is a Hough transform over (tempo ratio, offset): every matching pair of landmarks
//! at times `tq` (the query) and `tr` (the reference) votes, for each ratio `s` of a grid over
//! [`MIN_TEMPO_RATIO`]..[`MAX_TEMPO_RATIO`], for the offset `tr − s·tq`. Unrelated tracks share
//! hashes by chance, but their matches spread over every offset; a version's pile up in one.
//!
//! Those lines are only hypotheses: a version that starts a fraction of a frame later moves the
//! peaks of its held notes, so few of its triplets keep their hash. Each line is then checked
//! (and refitted) peak by peak: a query peak counts when the line maps it next to a reference
//! peak of the same pitch. What is reported (coverage, peak share, spans) comes from the peaks.

use super::Fingerprint;
use super::hough::{Pair, best_line, best_offset, join, refine};

/// Slowest and fastest tempo ratio looked for (reference time per query time): ±5%, for the
/// ±4% a store's versions may differ by.
pub const MIN_TEMPO_RATIO: f32 = 0.95;
/// See [`MIN_TEMPO_RATIO`].
pub const MAX_TEMPO_RATIO: f32 = 1.05;
/// Largest pitch shift looked for, in quarter-semitones (±1.25 semitones).
pub(super) const MAX_PITCH_UNITS: f32 = 5.0;
/// A landmark pair is an inlier of an alignment within this many frames of it.
const INLIER_FRAMES: f32 = 3.0;
/// Offsets looked for beyond the first (cut-downs, loops).
const MAX_ALIGNMENTS: usize = 16;
/// Landmark pairs on one line that make it a hypothesis worth checking peak by peak.
const MIN_HYPOTHESIS_PAIRS: usize = 4;
/// Peaks an alignment must match to be kept.
const MIN_ALIGNMENT_PEAKS: usize = 6;
/// A query peak mapped by an alignment matches a reference peak this near in time (frames)
/// and pitch (quarter-semitones).
const PEAK_FRAMES: f32 = 1.5;
const PEAK_PITCH_UNITS: f32 = 1.5;

/// One way the query lines up with the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Alignment {
    /// Reference time = tempo × query time + offset, in seconds.
    pub offset_seconds: f32,
    /// Landmark pairs on this line (the hypothesis).
    pub inliers: usize,
    /// Query peaks this line maps onto a reference peak.
    pub peaks: usize,
    /// The query's span on it, and where that is in the reference, in seconds.
    pub query_span: (f32, f32),
    pub reference_span: (f32, f32),
}

/// What the comparison of a query with a reference found.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Landmark pairs with equal hashes (after dropping over-common hashes).
    pub matches: usize,
    /// Landmark pairs on one of the hypotheses.
    pub inliers: usize,
    /// Query peaks that an alignment maps onto a reference peak.
    pub matched_peaks: usize,
    /// Their share of the query's peaks, 0..1.
    pub peak_share: f32,
    /// Pearson correlation of the matched peaks' strengths, −1..1 (0 with under three): a
    /// recording and its versions keep how loud each partial is against the others; the same
    /// notes played by another instrument do not.
    pub strength_correlation: f32,
    /// Reference time per query time (1.04: the reference is 4% slower).
    pub tempo_ratio: f32,
    /// Reference pitch minus query pitch, in semitones.
    pub pitch_semitones: f32,
    /// The alignments found, most inliers first.
    pub alignments: Vec<Alignment>,
    /// Share of the query's seconds (those with peaks at all) where at least two peaks are
    /// matched, 0..1.
    pub coverage: f32,
    /// The query's landmarks.
    pub query_landmarks: usize,
    /// How alike the two sound where they line up (mean cosine of the model's segment
    /// embeddings there, [`super::aligned_similarity`]), when the caller had them.
    pub timbre_similarity: Option<f32>,
}

/// Least [`Comparison::score`] of a version, and least [`Comparison::timbre_similarity`]
/// (when known): the medians of the thresholds chosen on each training fold of
/// `bench/versions/` (BENCHMARKS.md, "Versions").
pub const MIN_SCORE: f32 = 0.0615;
/// See [`MIN_SCORE`].
pub const MIN_TIMBRE: f32 = 0.83;

impl Comparison {
    /// How much of the query is in the reference, 0..1: the share of its seconds that line up
    /// ([`Comparison::coverage`]) times the share of its peaks matched on them
    /// ([`Comparison::peak_share`]). Unrelated tracks of one game line up a few seconds by
    /// chance, with few of their peaks.
    pub fn score(&self) -> f32 {
        self.coverage * self.peak_share
    }

    /// Whether the query is a version of the reference: its [`Comparison::score`] reaches
    /// [`MIN_SCORE`] and, when the caller measured it, the two sound alike where they line up
    /// ([`Comparison::timbre_similarity`] ≥ [`MIN_TIMBRE`]). Without the timbre, renders of
    /// one MIDI piece with other instruments pass as versions (their notes line up).
    pub fn is_version(&self) -> bool {
        self.score() >= MIN_SCORE && self.timbre_similarity.is_none_or(|t| t >= MIN_TIMBRE)
    }

    fn none(query_landmarks: usize, matches: usize) -> Self {
        Comparison {
            matches,
            inliers: 0,
            matched_peaks: 0,
            peak_share: 0.0,
            strength_correlation: 0.0,
            tempo_ratio: 1.0,
            pitch_semitones: 0.0,
            alignments: Vec::new(),
            coverage: 0.0,
            query_landmarks,
            timbre_similarity: None,
        }
    }
}

/// A query peak matched by an alignment: its index, the alignment's, the reference peak's.
#[derive(Debug, Clone, Copy)]
struct PeakMatch {
    query: usize,
    line: usize,
    reference: usize,
}

/// Compares `query` with `reference`: how much of the query is in the reference, and how
/// (tempo, pitch, offsets). Not symmetric: the query should be the shorter of the two.
pub fn compare(query: &Fingerprint, reference: &Fingerprint) -> Comparison {
    let n_q = query.landmarks.len();
    let pairs = join(&query.landmarks, &reference.landmarks);
    let matches = pairs.len();
    // One pitch shift: the 3-unit window (¾ semitone) holding the most pairs.
    let mut hist = [0usize; 2 * MAX_PITCH_UNITS as usize + 1];
    for p in &pairs {
        hist[(p.dp.round() + MAX_PITCH_UNITS) as usize] += 1;
    }
    let centre = (1..hist.len() - 1)
        .max_by_key(|&i| (hist[i - 1] + hist[i] + hist[i + 1], hist[i]))
        .unwrap_or(0) as f32
        - MAX_PITCH_UNITS;
    let pairs: Vec<Pair> = pairs
        .into_iter()
        .filter(|p| (p.dp - centre).abs() <= 1.5)
        .collect();
    if pairs.len() < MIN_HYPOTHESIS_PAIRS {
        return Comparison::none(n_q, matches);
    }
    let Some((ratio, offset)) = best_line(&pairs) else {
        return Comparison::none(n_q, matches);
    };
    // Refine the first line by least squares over its pairs, then look for more offsets at
    // that tempo among the pairs left: the hypotheses.
    let (ratio, offset) = refine(&pairs, ratio, offset);
    let mut left: Vec<Pair> = pairs.clone();
    let mut lines: Vec<(f32, Vec<Pair>)> = Vec::new();
    let mut offset = Some(offset);
    while let Some(o) = offset {
        let (on, off): (Vec<Pair>, Vec<Pair>) = left
            .iter()
            .partition(|p| (p.tr - ratio * p.tq - o).abs() <= INLIER_FRAMES);
        if on.len() < MIN_HYPOTHESIS_PAIRS || lines.len() == MAX_ALIGNMENTS {
            break;
        }
        lines.push((o, on));
        left = off;
        offset = best_offset(&left, ratio).map(|(o, _)| o);
    }
    if lines.is_empty() {
        return Comparison::none(n_q, matches);
    }
    let hash_pairs: Vec<&Pair> = lines.iter().flat_map(|(_, on)| on).collect();
    let shift = hash_pairs.iter().map(|p| p.dp).sum::<f32>() / hash_pairs.len() as f32;
    // Each hypothesis checked peak by peak, and refined on the peaks it matches.
    let offsets: Vec<f32> = lines.iter().map(|(o, _)| *o).collect();
    let (ratio, offsets) = refine_on_peaks(query, reference, ratio, shift, &offsets);
    let matched = match_peaks(query, reference, ratio, shift, &offsets);
    let fps = query.frames_per_second;
    let seconds = |frames: f32| frames / fps;
    // Alignments that match too few peaks are dropped, with their peaks.
    let mut kept_lines = Vec::new();
    let mut alignments: Vec<Alignment> = Vec::new();
    for (line, &o) in offsets.iter().enumerate() {
        let times: Vec<f32> = matched
            .iter()
            .filter(|m| m.line == line)
            .map(|m| query.peaks[m.query].frame)
            .collect();
        if times.len() < MIN_ALIGNMENT_PEAKS {
            continue;
        }
        let (a, b) = times
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &t| {
                (a.min(t), b.max(t))
            });
        kept_lines.push(line);
        alignments.push(Alignment {
            offset_seconds: seconds(o),
            inliers: lines[line].1.len(),
            peaks: times.len(),
            query_span: (seconds(a), seconds(b)),
            reference_span: (seconds(ratio * a + o), seconds(ratio * b + o)),
        });
    }
    alignments.sort_by_key(|a| std::cmp::Reverse(a.peaks));
    let kept: Vec<&PeakMatch> = matched
        .iter()
        .filter(|m| kept_lines.contains(&m.line))
        .collect();
    // A second of the query is covered when at least two of its peaks are matched (one
    // matches by chance in about one second in ten).
    let mut per_second = std::collections::BTreeMap::<u32, usize>::new();
    for m in &kept {
        *per_second
            .entry((query.peaks[m.query].frame / fps) as u32)
            .or_default() += 1;
    }
    let covered = per_second.values().filter(|&&n| n >= 2).count();
    let active = seconds_with(query.peaks.iter().map(|p| p.frame), fps).len();
    Comparison {
        matches,
        inliers: hash_pairs.len(),
        tempo_ratio: ratio,
        pitch_semitones: shift / 4.0,
        strength_correlation: correlation(kept.iter().map(|m| {
            (
                query.peaks[m.query].strength,
                reference.peaks[m.reference].strength,
            )
        })),
        matched_peaks: kept.len(),
        peak_share: kept.len() as f32 / query.peaks.len().max(1) as f32,
        alignments,
        coverage: covered as f32 / active.max(1) as f32,
        query_landmarks: n_q,
        timbre_similarity: None,
    }
}

/// For each query peak that one of the alignments `tr = ratio · tq + offsets[i]` (pitch
/// shifted by `shift` units) maps within reach of a reference peak: the first alignment that
/// matches it, and the reference peak nearest in time.
fn match_peaks(
    query: &Fingerprint,
    reference: &Fingerprint,
    ratio: f32,
    shift: f32,
    offsets: &[f32],
) -> Vec<PeakMatch> {
    let r = &reference.peaks;
    let mut out = Vec::new();
    for (i, p) in query.peaks.iter().enumerate() {
        for (line, &o) in offsets.iter().enumerate() {
            let t = ratio * p.frame + o;
            let from = r.partition_point(|x| x.frame < t - PEAK_FRAMES);
            // The nearest in time of the reference peaks within reach.
            let nearest = r[from..]
                .iter()
                .enumerate()
                .take_while(|(_, x)| x.frame <= t + PEAK_FRAMES)
                .filter(|(_, x)| (x.pitch - p.pitch - shift).abs() <= PEAK_PITCH_UNITS)
                .min_by(|a, b| (a.1.frame - t).abs().total_cmp(&(b.1.frame - t).abs()));
            if let Some((j, _)) = nearest {
                out.push(PeakMatch {
                    query: i,
                    line,
                    reference: from + j,
                });
                break;
            }
        }
    }
    out
}

/// The tempo ratio and offsets refitted by least squares on the peaks the hypotheses match
/// (the ratio from every alignment together, each offset from its own peaks).
fn refine_on_peaks(
    query: &Fingerprint,
    reference: &Fingerprint,
    ratio: f32,
    shift: f32,
    offsets: &[f32],
) -> (f32, Vec<f32>) {
    // Matched (tq, tr) per alignment.
    let mut by_line: Vec<Vec<(f64, f64)>> = vec![Vec::new(); offsets.len()];
    for m in match_peaks(query, reference, ratio, shift, offsets) {
        by_line[m.line].push((
            f64::from(query.peaks[m.query].frame),
            f64::from(reference.peaks[m.reference].frame),
        ));
    }
    // Common slope over lines (each centred on its own means), then each line's intercept.
    let (mut sxx, mut sxy, mut n) = (0.0f64, 0.0f64, 0usize);
    let means: Vec<Option<(f64, f64)>> = by_line
        .iter()
        .map(|pts| {
            if pts.len() < 3 {
                return None;
            }
            let k = pts.len() as f64;
            let mx = pts.iter().map(|p| p.0).sum::<f64>() / k;
            let my = pts.iter().map(|p| p.1).sum::<f64>() / k;
            for &(x, y) in pts {
                sxx += (x - mx) * (x - mx);
                sxy += (x - mx) * (y - my);
            }
            n += pts.len();
            Some((mx, my))
        })
        .collect();
    // Peaks spread over under a second say no more about the tempo than the hypotheses did.
    let ratio = if n >= 3 && sxx >= n as f64 * 60.0 * 60.0 {
        ((sxy / sxx) as f32).clamp(MIN_TEMPO_RATIO, MAX_TEMPO_RATIO)
    } else {
        ratio
    };
    let offsets = offsets
        .iter()
        .zip(&means)
        .map(|(&o, m)| m.map_or(o, |(mx, my)| (my - f64::from(ratio) * mx) as f32))
        .collect();
    (ratio, offsets)
}

/// Pearson correlation of the pairs, 0 with fewer than three or no spread.
fn correlation(pairs: impl Iterator<Item = (f32, f32)>) -> f32 {
    let v: Vec<(f64, f64)> = pairs.map(|(a, b)| (f64::from(a), f64::from(b))).collect();
    if v.len() < 3 {
        return 0.0;
    }
    let n = v.len() as f64;
    let (ma, mb) = (
        v.iter().map(|p| p.0).sum::<f64>() / n,
        v.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0);
    for (a, b) in &v {
        saa += (a - ma) * (a - ma);
        sbb += (b - mb) * (b - mb);
        sab += (a - ma) * (b - mb);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        return 0.0;
    }
    (sab / (saa * sbb).sqrt()) as f32
}

/// The distinct whole seconds that `frames` fall in.
fn seconds_with(frames: impl Iterator<Item = f32>, fps: f32) -> std::collections::BTreeSet<u32> {
    frames.map(|f| (f / fps).max(0.0) as u32).collect()
}
