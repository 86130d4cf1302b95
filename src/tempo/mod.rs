//! Tempo: a track's beats per minute and how sure we are, from the front end's mel frames.
//!
//! librosa's definitions are the reference: onset strength ([`onset`], spectral flux of the
//! dB mel spectrogram) → autocorrelation tempogram ([`tempogram`], 8.9 s windows) → the mean
//! over windows, weighted by a log-normal prior around 120 BPM, and the best lag
//! (`librosa.feature.tempo`). What differs, each measured on rendered MIDI at known tempi
//! (`bench/tempo/`, BENCHMARKS.md):
//!
//! - the envelope is smoothed over 3 frames and its mean removed before the autocorrelation,
//!   so the tempogram measures periodicity alone (librosa's keeps a slope toward short lags);
//!   its height at the beat period and its multiples gives the [`TempoEstimate::confidence`];
//! - the beat period is chosen by Ellis's TPS2 (the lag's weighted periodicity plus half that
//!   of twice the lag) under a prior 1.4 octaves wide, which halves the octave errors;
//! - the peak is refined between frames by a parabola (librosa's answer moves in whole-frame
//!   steps, 3–7% apart at 120–180 BPM);
//! - the answer is folded into [`REPORTED_MIN_BPM`]–[`REPORTED_MAX_BPM`] by moving to the
//!   periodicity peak at twice or half the period: a background-music tempo outside that range
//!   is almost always the subdivision (hi-hats in eighths) or the bar, not the beat;
//! - the confidence asks for a *comb*: periodicity at the beat and at its next three multiples,
//!   so a chance coincidence of free-time onsets at one lag does not read as a beat.
//!
//! The estimate costs one pass over the frames the front end computes anyway, and a few FFTs
//! of 1024 points per 2.2 s of audio.

pub mod code;
#[cfg(feature = "analysis")]
mod estimate;
pub mod filter;
#[cfg(feature = "analysis")]
pub mod onset;
#[cfg(feature = "analysis")]
pub mod tempogram;

use serde::{Deserialize, Serialize};

#[cfg(feature = "analysis")]
pub use estimate::tempo_of_samples;
#[cfg(feature = "analysis")]
pub use onset::OnsetStrength;
#[cfg(feature = "analysis")]
pub use tempogram::Tempogram;

/// The prior's centre, in BPM (librosa's `start_bpm`).
pub const PRIOR_CENTRE_BPM: f64 = 120.0;
/// The prior's width, in octaves (librosa's `std_bpm` is 1; Ellis's beat tracker, which
/// librosa's descends from, uses 1.4, and so do we).
pub const PRIOR_OCTAVES: f64 = 1.4;
/// Frames the onset envelope is averaged over (48 ms): our 32 ms frames see every hi-hat;
/// librosa's 93 ms frames smooth them, and the beat stands out more.
pub const SMOOTHING_FRAMES: usize = 3;
/// Tempi considered, in BPM.
pub const MIN_BPM: f64 = 30.0;
/// Tempi considered, in BPM (librosa's `max_tempo`).
pub const MAX_BPM: f64 = 320.0;
/// Below this confidence a track has "no clear tempo". Over 73 seeded draws of white and brown
/// noise, held and vibrato chords, clicks and decaying notes at random gaps (free time), 20–60 s
/// (`tests/tempo.rs` holds a few of each), the highest confidence was 0.129, a hard-clipped
/// random walk; with adjacent frames in the onset strength (estimator version 2, threshold
/// 0.10) it was 0.088. Random walks clipped harder still can reach 0.15–0.21 at either lag: few,
/// sharp rail-to-rail jumps read as a beat, a known gap.
pub const MIN_CONFIDENCE: f32 = 0.14;
/// Tempi are reported between this and [`REPORTED_MAX_BPM`], in BPM: a slower periodicity is
/// reported at its double (the highest periodicity within 4% of half its period) when the onsets
/// are periodic there at all (above 0); otherwise as it is.
pub const REPORTED_MIN_BPM: f64 = 50.0;
/// Tempi are reported up to this, in BPM: a faster periodicity is reported at its half (the
/// highest periodicity within 4% of twice its period). The [`filter`]'s "similar tempo" is
/// half- and double-time aware, so a search loses nothing by it.
pub const REPORTED_MAX_BPM: f64 = 200.0;
/// Which estimator computed a tempo. An index records it, and one built by another version is
/// refused: its stored tempi would not match what this build computes for a dropped file.
/// Version 1 had no folding and a single-lag confidence; version 2 compared adjacent frames in
/// the onset strength (version 3: [`onset::LAG_FRAMES`] apart).
pub const ESTIMATOR_VERSION: u32 = 3;
/// Shorter inputs have no clear tempo: too few beats to measure a period (four at 48 BPM).
pub const MIN_SECONDS: f64 = 5.0;

/// Errors (with the reason) unless tempi computed by estimator `version` are what this build
/// computes: an index with other tempi would filter a dropped file's tempo against numbers
/// this build would not give its tracks.
pub fn ensure_estimator_version(version: u32) -> Result<(), String> {
    if version == ESTIMATOR_VERSION {
        return Ok(());
    }
    Err(format!(
        "its tempi were computed by tempo estimator version {version}, this build computes \
         version {ESTIMATOR_VERSION}: build the index again"
    ))
}

/// A stretch of a track at one tempo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TempoSection {
    /// Where it starts, in seconds.
    pub start_seconds: f64,
    /// Where it ends, in seconds.
    pub end_seconds: f64,
    /// Its tempo, in beats per minute.
    pub bpm: f32,
}

/// A track's tempo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TempoEstimate {
    /// The most likely tempo, in beats per minute (0 when there is nothing to go on).
    pub bpm: f32,
    /// How sure the estimate is, 0–1: how periodic the onsets are at that tempo (the mean
    /// normalised autocorrelation of the mean-removed onset envelope at the beat period and at
    /// its next three multiples), times how much the onsets stand out at all. Below
    /// [`MIN_CONFIDENCE`]: no clear tempo.
    pub confidence: f32,
    /// Where the tempo changes: one section per stretch at its own tempo; empty when it is
    /// steady (or unclear).
    pub sections: Vec<TempoSection>,
}

impl TempoEstimate {
    /// No tempo at all (silence, too short).
    pub fn none() -> Self {
        TempoEstimate {
            bpm: 0.0,
            confidence: 0.0,
            sections: Vec::new(),
        }
    }

    /// Whether the tempo is clear enough to show and filter by.
    pub fn is_clear(&self) -> bool {
        self.confidence >= MIN_CONFIDENCE && self.bpm > 0.0
    }

    /// The tempo when it is clear.
    pub fn clear_bpm(&self) -> Option<f32> {
        self.is_clear().then_some(self.bpm)
    }
}
