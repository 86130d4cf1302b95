//! What the store knows about one track ([`TrackMeta`]: titles, tags, licence, preview) and
//! the tempo the engine predicted for it ([`TrackTempo`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Tags by category (`"genre" → ["ambient", "chiptune"]`). Sorted, so files are reproducible.
pub type Tags = BTreeMap<String, Vec<String>>;

/// What the store knows about one track. All text is untrusted: the UI renders it as text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackMeta {
    /// The store's identifier, unique within the index.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Album, collection or package the track belongs to.
    pub collection: String,
    /// Composer or artist, where known.
    pub composer: Option<String>,
    /// Catalog tags, as the store assigned them.
    pub tags: Tags,
    /// Tags predicted by the model (e.g. `"instrument" → ["piano"]`), kept apart from catalog
    /// tags because nobody checked them.
    pub predicted: Tags,
    /// Length of the track, in seconds.
    pub duration_seconds: f32,
    /// URL (usually relative) of a browser-playable preview.
    pub preview_url: Option<String>,
    /// License name or SPDX identifier.
    pub license: Option<String>,
    /// Attribution text the license requires.
    pub attribution: Option<String>,
    /// The tempo the engine predicted from the audio (kept apart from catalog tags, like
    /// `predicted`); `None` for tracks imported without audio.
    pub tempo: Option<TrackTempo>,
    /// Ids of the tracks the store says this one is a version of (a cut-down, a loop, another
    /// mix), as a manifest gives them: adding the track to an index records them in its
    /// [`crate::index::VersionTable`], and the version audit turns them into declared links.
    /// Not serialised with the track: pages never need it.
    #[serde(skip)]
    pub version_of: Vec<String>,
}

/// A track's predicted tempo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackTempo {
    /// Beats per minute (the best candidate, even when unclear).
    pub bpm: f32,
    /// 0–1; a tempo is clear from [`crate::tempo::MIN_CONFIDENCE`].
    pub confidence: f32,
}

impl TrackTempo {
    /// The tempo when it is clear enough to filter by.
    pub fn clear_bpm(&self) -> Option<f32> {
        (self.confidence >= crate::tempo::MIN_CONFIDENCE && self.bpm > 0.0).then_some(self.bpm)
    }
}

impl From<&crate::tempo::TempoEstimate> for TrackTempo {
    fn from(t: &crate::tempo::TempoEstimate) -> Self {
        TrackTempo {
            bpm: t.bpm,
            confidence: t.confidence,
        }
    }
}
