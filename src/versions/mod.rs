//! Versions: whether one track's audio is contained in another's (a cut-down, a loop, a
//! re-encoding, another mastering, a little faster or higher), as opposed to merely sounding
//! alike (issue #30; the design and its sources: `docs/versions-design.md`).
//!
//! The chain, on the power frames the front end computes anyway (no second FFT):
//!
//! ```text
//! power frames ─[peaks]─▶ spectral peaks ─[landmarks]─▶ hashed peak triplets (a Fingerprint)
//! two Fingerprints ─[verify]─▶ Comparison (pitch shift, tempo ratio, offsets, coverage)
//! Comparison + both tracks' segment embeddings ─[timbre]─▶ do they sound the same there
//! ```

#[cfg(feature = "catalog")]
pub mod audit;
#[cfg(feature = "catalog")]
pub mod check;
pub mod codec;
mod hough;
pub mod landmarks;
pub mod peaks;
pub mod timbre;
pub mod verify;

pub use landmarks::Landmark;
pub use peaks::{Peak, PeakPicker};
pub use timbre::aligned_similarity;
pub use verify::{Alignment, Comparison, compare};

/// Version of the fingerprint's definition (peaks, triplets, hash layout, the stored grid of
/// [`codec`]; 2: peaks rounded to that grid): fingerprints of different versions never match,
/// so the stored form records it.
pub const FINGERPRINT_VERSION: u32 = 2;

/// A track's landmarks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fingerprint {
    /// The spectral peaks, in time order: what is stored, and what a comparison checks an
    /// alignment on.
    pub peaks: Vec<Peak>,
    /// Their triplets, sorted by hash, then time: what proposes alignments.
    pub landmarks: Vec<Landmark>,
    /// Frames per second of the landmarks' times (the analysis hop's rate).
    pub frames_per_second: f32,
    /// The track's length, in frames.
    pub frames: u32,
}

impl Fingerprint {
    /// The fingerprint of what `picker` saw (`frames` power frames).
    pub fn from_picker(picker: PeakPicker, frames: u32) -> Self {
        let frames_per_second = picker.frames_per_second();
        // Rounded to the stored grid here, so that a fingerprint read from an index is the one
        // computed, bit for bit.
        let mut peaks: Vec<Peak> = picker.finish().into_iter().map(codec::quantize).collect();
        peaks.sort_by(|a, b| a.frame.total_cmp(&b.frame));
        Fingerprint {
            landmarks: landmarks::landmarks(&peaks),
            peaks,
            frames_per_second,
            frames,
        }
    }

    /// The track's length, in seconds.
    pub fn duration_seconds(&self) -> f32 {
        self.frames as f32 / self.frames_per_second.max(1e-6)
    }

    /// Landmarks per second of audio.
    pub fn density(&self) -> f32 {
        self.landmarks.len() as f32 / self.duration_seconds().max(1e-6)
    }
}

/// Compares two fingerprints with the shorter one as the query (see [`compare`]); `true` in
/// the second place when `b` was the query.
pub fn compare_either(a: &Fingerprint, b: &Fingerprint) -> (Comparison, bool) {
    if b.frames < a.frames {
        (compare(b, a), true)
    } else {
        (compare(a, b), false)
    }
}
