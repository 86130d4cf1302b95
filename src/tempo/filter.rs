//! Which tempi a search keeps: a BPM range, and/or "a tempo like this one", where half and
//! double time count as alike (a 70 BPM ballad and a 140 BPM track can share one pulse).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How far (as a ratio) a tempo may be from the reference's, its double or its half, and
/// still count as similar: ±8%, about the step between two tempo markings.
pub const SIMILAR_TEMPO_TOLERANCE: f32 = 0.08;

/// A search's tempo conditions. Tracks without a clear predicted tempo pass only when the
/// filter is empty.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TempoFilter {
    /// Slowest tempo kept, in BPM.
    pub min_bpm: Option<f32>,
    /// Fastest tempo kept, in BPM.
    pub max_bpm: Option<f32>,
    /// Keep tempi within [`SIMILAR_TEMPO_TOLERANCE`] of this one (in BPM), of its double or
    /// of its half: "similar tempo".
    pub near_bpm: Option<f32>,
}

impl TempoFilter {
    /// True when it keeps every track.
    pub fn is_empty(&self) -> bool {
        self.min_bpm.is_none() && self.max_bpm.is_none() && self.near_bpm.is_none()
    }

    /// Errors for bounds that are not positive finite numbers, or a range that is reversed.
    pub fn check(&self) -> Result<()> {
        for (what, v) in [
            ("slowest tempo", self.min_bpm),
            ("fastest tempo", self.max_bpm),
            ("reference tempo", self.near_bpm),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return Err(Error::InvalidQuery(format!(
                    "the {what} must be a positive number of BPM, not {v}"
                )));
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_bpm, self.max_bpm)
            && lo > hi
        {
            return Err(Error::InvalidQuery(format!(
                "the tempo range {lo}–{hi} BPM is reversed"
            )));
        }
        Ok(())
    }

    /// Whether a track with this clear tempo (`None`: no clear tempo) passes.
    pub fn accepts(&self, bpm: Option<f32>) -> bool {
        if self.is_empty() {
            return true;
        }
        let Some(b) = bpm else {
            return false;
        };
        let in_range =
            self.min_bpm.is_none_or(|lo| b >= lo) && self.max_bpm.is_none_or(|hi| b <= hi);
        let near = self.near_bpm.is_none_or(|r| {
            [0.5, 1.0, 2.0]
                .iter()
                .any(|k| (b / (r * k) - 1.0).abs() <= SIMILAR_TEMPO_TOLERANCE)
        });
        in_range && near
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_similar_tempi() {
        let range = TempoFilter {
            min_bpm: Some(90.0),
            max_bpm: Some(110.0),
            near_bpm: None,
        };
        assert!(range.accepts(Some(90.0)) && range.accepts(Some(110.0)));
        assert!(!range.accepts(Some(89.0)) && !range.accepts(Some(111.0)));
        assert!(!range.accepts(None), "no clear tempo is outside any range");
        let near = TempoFilter {
            near_bpm: Some(100.0),
            ..TempoFilter::default()
        };
        for bpm in [93.0, 100.0, 107.0, 50.0, 200.0, 196.0] {
            assert!(near.accepts(Some(bpm)), "{bpm}");
        }
        for bpm in [90.0, 120.0, 150.0, 75.0, 300.0] {
            assert!(!near.accepts(Some(bpm)), "{bpm}");
        }
        assert!(TempoFilter::default().accepts(None));
    }

    #[test]
    fn nonsense_is_refused() {
        let reversed = TempoFilter {
            min_bpm: Some(120.0),
            max_bpm: Some(100.0),
            near_bpm: None,
        };
        assert!(reversed.check().is_err());
        let negative = TempoFilter {
            near_bpm: Some(-3.0),
            ..TempoFilter::default()
        };
        assert!(negative.check().is_err());
        assert!(TempoFilter::default().check().is_ok());
    }
}
