//! Whether two aligned recordings *sound* the same where they line up: the model's segment
//! embeddings compared at the places an alignment maps onto each other. Peaks and their
//! timing find the same notes; they cannot tell a recording from the same notes played by
//! another instrument (renders of one MIDI piece line up on most of their peaks). The model,
//! trained to name the main instrument, can.

use super::Comparison;
use crate::Segment;

/// The mean cosine of the query's segment embeddings with the reference's segments at the
/// places `comparison`'s alignments map them to (the reference segment whose centre is nearest,
/// if within half a segment; of several alignments, the one that maps it best), or `None` when
/// no segment lines up. `segment_seconds` is the
/// length of a segment (the model's patch), in seconds. Embeddings are unit vectors.
pub fn aligned_similarity(
    comparison: &Comparison,
    query: &[Segment],
    reference: &[Segment],
    segment_seconds: f64,
) -> Option<f32> {
    let half = segment_seconds / 2.0;
    let mut sum = 0.0f64;
    let mut n = 0usize;
    for q in query {
        let centre = q.start_seconds + half;
        // Under every alignment whose span holds this segment's centre (a margin of half a
        // segment), the reference segment it maps onto; the best of them counts (a cut-down
        // whose ending repeats its intro lines up twice, once rightly).
        let best = comparison
            .alignments
            .iter()
            .filter(|a| {
                f64::from(a.query_span.0) - half <= centre
                    && centre <= f64::from(a.query_span.1) + half
            })
            .filter_map(|a| {
                let mapped =
                    f64::from(comparison.tempo_ratio) * centre + f64::from(a.offset_seconds);
                let r = reference.iter().min_by(|x, y| {
                    (x.start_seconds + half - mapped)
                        .abs()
                        .total_cmp(&(y.start_seconds + half - mapped).abs())
                })?;
                ((r.start_seconds + half - mapped).abs() <= half).then(|| {
                    q.embedding
                        .iter()
                        .zip(&r.embedding)
                        .map(|(a, b)| a * b)
                        .sum::<f32>()
                })
            })
            .max_by(f32::total_cmp);
        if let Some(cos) = best {
            sum += f64::from(cos);
            n += 1;
        }
    }
    (n > 0).then(|| (sum / n as f64) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::Alignment;

    fn segment(start_seconds: f64, axis: usize) -> Segment {
        let mut embedding = vec![0.0; 4];
        embedding[axis] = 1.0;
        Segment {
            start_seconds,
            embedding,
        }
    }

    fn lined_up(offset_seconds: f32) -> Comparison {
        Comparison {
            matches: 100,
            inliers: 50,
            matched_peaks: 40,
            peak_share: 0.8,
            strength_correlation: 0.9,
            tempo_ratio: 1.0,
            pitch_semitones: 0.0,
            alignments: vec![Alignment {
                offset_seconds,
                inliers: 50,
                peaks: 40,
                query_span: (0.5, 8.5),
                reference_span: (10.5, 18.5),
            }],
            coverage: 1.0,
            query_landmarks: 200,
            timbre_similarity: None,
        }
    }

    #[test]
    fn segments_are_compared_where_the_alignment_puts_them() {
        let query = [segment(0.0, 0), segment(3.0, 1), segment(6.0, 2)];
        // The same three 10 s later, after an unrelated one.
        let reference = [
            segment(1.0, 3),
            segment(10.0, 0),
            segment(13.0, 1),
            segment(16.0, 2),
        ];
        let c = lined_up(10.0);
        assert_eq!(aligned_similarity(&c, &query, &reference, 3.0), Some(1.0));
        // Another instrument on the same notes: other embeddings where they line up.
        let other = [segment(10.0, 3), segment(13.0, 3), segment(16.0, 3)];
        assert_eq!(aligned_similarity(&c, &query, &other, 3.0), Some(0.0));
        // Nothing of the reference where the alignment points.
        assert_eq!(
            aligned_similarity(&lined_up(40.0), &query, &reference, 3.0),
            None
        );
    }
}
