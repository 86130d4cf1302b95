//! A part of an analysed track as a search reference: "more like 0:30–0:45 of my song".
//!
//! The track embedding is the mean of its segment (patch) embeddings, so the embedding of a part
//! is the mean of the segments that lie in it. No second analysis is needed: the segments are
//! already there, in time order, with their start times.

use crate::error::{Error, Result};
use crate::model::l2_normalize;

use super::{Segment, TrackAnalysis};

/// Which segments stand for the part `[from_seconds, to_seconds)` of a track whose segments
/// each cover `segment_seconds`: those whose centre lies in the part, or, when the part is
/// shorter than the spacing of the segments, the one whose centre is nearest to the part's
/// middle. Indices into `segments`, in time order.
///
/// Errors when the part is empty or reversed, not finite, or starts after the audio ends
/// (`duration_seconds`).
pub fn segments_between(
    segments: &[Segment],
    segment_seconds: f64,
    duration_seconds: f64,
    from_seconds: f64,
    to_seconds: f64,
) -> Result<Vec<usize>> {
    if !from_seconds.is_finite() || !to_seconds.is_finite() || from_seconds < 0.0 {
        return Err(Error::InvalidQuery(format!(
            "the part of the song must be given in seconds from its start (got {from_seconds} to {to_seconds})"
        )));
    }
    if to_seconds <= from_seconds {
        return Err(Error::InvalidQuery(format!(
            "the part of the song ends ({to_seconds:.1} s) before it starts ({from_seconds:.1} s)"
        )));
    }
    if from_seconds >= duration_seconds {
        return Err(Error::InvalidQuery(format!(
            "the part of the song starts at {from_seconds:.1} s, after its end ({duration_seconds:.1} s)"
        )));
    }
    if segments.is_empty() {
        return Err(Error::NoAudio);
    }
    let centre = |s: &Segment| s.start_seconds + segment_seconds / 2.0;
    let inside: Vec<usize> = (0..segments.len())
        .filter(|&i| (from_seconds..to_seconds).contains(&centre(&segments[i])))
        .collect();
    if !inside.is_empty() {
        return Ok(inside);
    }
    let middle = (from_seconds + to_seconds.min(duration_seconds)) / 2.0;
    let nearest = (0..segments.len())
        .min_by(|&a, &b| {
            let da = (centre(&segments[a]) - middle).abs();
            let db = (centre(&segments[b]) - middle).abs();
            da.total_cmp(&db)
        })
        .expect("segments is not empty");
    Ok(vec![nearest])
}

impl TrackAnalysis {
    /// The embedding of the part `[from_seconds, to_seconds)` of this track: the mean of its
    /// segments there ([`segments_between`]), L2-normalised, like the whole track's. Also the
    /// number of segments it averages.
    pub fn embedding_between(
        &self,
        segment_seconds: f64,
        from_seconds: f64,
        to_seconds: f64,
    ) -> Result<(Vec<f32>, usize)> {
        let chosen = segments_between(
            &self.segments,
            segment_seconds,
            self.source.duration_seconds(),
            from_seconds,
            to_seconds,
        )?;
        let mut embedding = vec![0.0f32; self.embedding.len()];
        for &i in &chosen {
            let e = &self.segments[i].embedding;
            embedding.iter_mut().zip(e).for_each(|(acc, v)| *acc += v);
        }
        l2_normalize(&mut embedding);
        Ok((embedding, chosen.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(starts: &[f64]) -> Vec<Segment> {
        starts
            .iter()
            .enumerate()
            .map(|(i, &s)| Segment {
                start_seconds: s,
                embedding: vec![i as f32, 1.0],
            })
            .collect()
    }

    #[test]
    fn segments_whose_centre_is_inside() {
        // 3 s segments every 1.5 s: centres at 1.5, 3.0, 4.5, 6.0, 7.5.
        let s = segments(&[0.0, 1.5, 3.0, 4.5, 6.0]);
        assert_eq!(
            segments_between(&s, 3.0, 9.0, 2.5, 6.0).unwrap(),
            vec![1, 2]
        );
        assert_eq!(
            segments_between(&s, 3.0, 9.0, 0.0, 9.0).unwrap(),
            vec![0, 1, 2, 3, 4]
        );
        // Past the end is clipped to what is there.
        assert_eq!(
            segments_between(&s, 3.0, 9.0, 5.0, 60.0).unwrap(),
            vec![3, 4]
        );
    }

    #[test]
    fn a_short_part_takes_the_nearest_segment() {
        let s = segments(&[0.0, 1.5, 3.0, 4.5, 6.0]);
        assert_eq!(segments_between(&s, 3.0, 9.0, 5.0, 5.2).unwrap(), vec![2]); // centre 4.5
        assert_eq!(segments_between(&s, 3.0, 9.0, 8.5, 8.9).unwrap(), vec![4]);
    }

    #[test]
    fn empty_reversed_or_outside_parts_are_refused() {
        let s = segments(&[0.0, 1.5]);
        for (from, to, why) in [
            (3.0, 3.0, "ends"),
            (4.0, 2.0, "ends"),
            (10.0, 12.0, "after its end"),
            (-1.0, 2.0, "in seconds"),
            (f64::NAN, 2.0, "in seconds"),
        ] {
            let e = segments_between(&s, 3.0, 4.5, from, to)
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{from}..{to}: {e}");
        }
    }
}
