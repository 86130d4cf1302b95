//! Landmarks: triplets of spectral peaks hashed so that the hash survives a tempo change (it
//! keeps only the *ratio* of the triplet's time gaps) and a pitch change (it keeps only the
//! *differences* of its pitches), after Six & Leman's Panako (ISMIR 2014), implemented from
//! the paper's description. Each landmark also keeps where its anchor is (time, pitch) and how
//! long the triplet spans, which is what [`super::verify`] aligns two tracks with.
//!
//! ```text
//! hash (18 bits) = Δpitch(1→2) in semitones (6 bits) | Δpitch(1→3) (6 bits)
//!                | (t2 − t1) / (t3 − t1) in eighths (3 bits) | ⌊log2(t3 − t1)⌋ (3 bits)
//! ```
//!
//! Which of the three peaks is loudest is *not* in the hash: measured on the evaluation set
//! (`bench/versions/`), those 3 bits changed under equalisation and re-encoding often enough
//! to cost a third of the matches of the weakest tenth of the versions, and hashes of
//! unrelated tracks never lined up without them either.

use super::peaks::Peak;

/// Shortest time gap between two peaks of a triplet, in frames.
pub const MIN_GAP_FRAMES: f32 = 2.0;
/// Longest span of a triplet (first to last peak), in frames (≈ 0.8 s at 16 ms).
pub const MAX_SPAN_FRAMES: f32 = 48.0;
/// Largest pitch difference within a triplet, in semitones.
pub const MAX_INTERVAL_SEMITONES: f32 = 24.0;
/// Partners considered per anchor (the next peaks in time within reach): a triplet is the
/// anchor with two of them.
pub const FAN_OUT: usize = 4;

/// One landmark.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Landmark {
    /// The triplet's hash (see the module docs).
    pub hash: u32,
    /// Its first peak's time, in frames.
    pub frame: f32,
    /// Its first peak's pitch, in quarter-semitones above [`super::peaks::PEAK_MIN_HZ`].
    pub pitch: f32,
    /// Time from its first to its last peak, in frames.
    pub span: f32,
}

/// The landmarks of `peaks` (in time order), sorted by hash, then time.
pub fn landmarks(peaks: &[Peak]) -> Vec<Landmark> {
    let mut out = Vec::with_capacity(peaks.len() * FAN_OUT * (FAN_OUT - 1) / 2);
    let max_interval = MAX_INTERVAL_SEMITONES * 4.0;
    for (i, p1) in peaks.iter().enumerate() {
        let partners: Vec<&Peak> = peaks[i + 1..]
            .iter()
            .take_while(|p| p.frame - p1.frame <= MAX_SPAN_FRAMES)
            .filter(|p| {
                p.frame - p1.frame >= MIN_GAP_FRAMES && (p.pitch - p1.pitch).abs() <= max_interval
            })
            .take(FAN_OUT)
            .collect();
        for (a, p2) in partners.iter().enumerate() {
            for p3 in &partners[a + 1..] {
                if p3.frame - p2.frame < MIN_GAP_FRAMES {
                    continue;
                }
                out.push(Landmark {
                    hash: hash(p1, p2, p3),
                    frame: p1.frame,
                    pitch: p1.pitch,
                    span: p3.frame - p1.frame,
                });
            }
        }
    }
    // Sorted by hash, then time: the landmarks come out in time order (each anchor's, and the
    // anchors are), so a stable sort by hash alone gives that order. Two passes of a radix sort
    // do it in linear time: this runs every time a stored fingerprint is read, and a
    // comparison sort was a fifth of a catalog audit.
    debug_assert!(out.windows(2).all(|w| w[0].frame <= w[1].frame));
    radix_sort_by_hash(out)
}

/// Stable sort by `hash` (below 2^18): least significant 9 bits first, then the next 9.
fn radix_sort_by_hash(mut items: Vec<Landmark>) -> Vec<Landmark> {
    const BITS: u32 = 9;
    let mut other = Vec::with_capacity(items.len());
    for pass in 0..2 {
        let shift = pass * BITS;
        let digit = |l: &Landmark| ((l.hash >> shift) & ((1 << BITS) - 1)) as usize;
        let mut starts = [0usize; 1 << BITS];
        for l in &items {
            starts[digit(l)] += 1;
        }
        let mut total = 0;
        for s in starts.iter_mut() {
            let n = *s;
            *s = total;
            total += n;
        }
        other.clear();
        other.resize(items.len(), Landmark::default());
        for l in &items {
            let d = digit(l);
            other[starts[d]] = *l;
            starts[d] += 1;
        }
        std::mem::swap(&mut items, &mut other);
    }
    items
}

/// The hash of a triplet in time order (see the module docs).
pub fn hash(p1: &Peak, p2: &Peak, p3: &Peak) -> u32 {
    let semitones = |d: f32| ((d / 4.0).round().clamp(-31.0, 31.0) as i32 + 32) as u32;
    let span = p3.frame - p1.frame;
    let ratio = (((p2.frame - p1.frame) / span * 8.0) as u32).min(7);
    let span_class = (span.max(1.0).log2() as u32).min(7);
    hash_parts(
        semitones(p2.pitch - p1.pitch),
        semitones(p3.pitch - p1.pitch),
        ratio,
        span_class,
    )
}

fn hash_parts(d12: u32, d13: u32, ratio: u32, span_class: u32) -> u32 {
    (d12 << 12) | (d13 << 6) | (ratio << 3) | span_class
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peak(frame: f32, pitch: f32, strength: f32) -> Peak {
        Peak {
            frame,
            pitch,
            strength,
        }
    }

    #[test]
    fn the_hash_ignores_a_tempo_and_pitch_change_and_gain() {
        let (a, b, c) = (
            peak(100.0, 40.0, 3.0),
            peak(110.0, 56.0, 5.0),
            peak(130.0, 28.0, 1.0),
        );
        // 4% slower, one semitone up, 6 dB louder (every strength + ln 4): the same hash.
        let moved = |p: &Peak| peak(500.0 + p.frame * 1.04, p.pitch + 4.0, p.strength + 1.386);
        assert_eq!(hash(&a, &b, &c), hash(&moved(&a), &moved(&b), &moved(&c)));
        // Another interval is another hash.
        assert_ne!(
            hash(&a, &b, &c),
            hash(&a, &peak(110.0, 60.0, 5.0), &c),
            "a major third above is not a fourth above"
        );
    }

    #[test]
    fn triplets_stay_within_reach_and_sort_by_hash() {
        let peaks: Vec<Peak> = (0..40)
            .map(|i| peak(i as f32 * 5.0, (i * 7 % 50) as f32, (i % 3) as f32))
            .collect();
        let marks = landmarks(&peaks);
        assert!(!marks.is_empty());
        assert!(marks.windows(2).all(|w| w[0].hash <= w[1].hash));
        assert!(
            marks
                .iter()
                .all(|m| m.span <= MAX_SPAN_FRAMES && m.span >= 2.0 * MIN_GAP_FRAMES)
        );
        // At most FAN_OUT choose 2 per anchor.
        assert!(marks.len() <= peaks.len() * FAN_OUT * (FAN_OUT - 1) / 2);
    }

    #[test]
    fn the_radix_sort_is_the_stable_sort_by_hash_then_time() {
        // Pseudo-random hashes over the whole 18-bit range, in time order, with ties.
        let mut x = 12345u32;
        let marks: Vec<Landmark> = (0..5000)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                Landmark {
                    hash: (x >> 8) & ((1 << 18) - 1) & if i % 7 == 0 { 0x3f } else { !0 },
                    frame: (i / 3) as f32,
                    pitch: (i % 11) as f32,
                    span: (i % 5) as f32,
                }
            })
            .collect();
        let mut want = marks.clone();
        want.sort_by(|a, b| a.hash.cmp(&b.hash).then(a.frame.total_cmp(&b.frame)));
        assert_eq!(radix_sort_by_hash(marks), want);
    }
}
