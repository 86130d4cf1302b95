//! The filters part of a generation: what a filtered search, a browse and the tag counts need
//! (tag posting lists, a tempo byte per track), fetched whole, only by the searches that filter,
//! or at idle.

use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use crate::error::{Error, Result};
use crate::index::postings::PostingList;

/// The filters part's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiltersPart {
    /// Catalog tag posting lists (local positions).
    pub catalog_tags: Vec<TagPostings>,
    /// Predicted tag posting lists (local positions).
    pub predicted_tags: Vec<TagPostings>,
    /// One [`crate::tempo::code`] byte per track, in position order: its clear predicted tempo
    /// (or none), so tempo filters need no metadata fetch.
    #[serde(with = "serde_bytes")]
    pub tempo: Vec<u8>,
}

/// The posting lists of one tag category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagPostings {
    /// Category name (`"mood"`).
    pub category: String,
    /// Its values and their tracks.
    pub values: Vec<TagValue>,
}

/// One tag value and the tracks that carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagValue {
    /// The value (`"calm"`).
    pub value: String,
    /// Local positions of the tracks carrying it.
    pub tracks: PostingList,
}

impl FiltersPart {
    /// Checks the part against the manifest entry of `generation`; `part` names it in errors.
    pub fn validate(&self, manifest: &Manifest, generation: usize, part: &str) -> Result<()> {
        let tracks = manifest.generations[generation].tracks as usize;
        if self.tempo.len() != tracks {
            return Err(Error::IndexPart {
                part: part.to_string(),
                problem: format!("{} tempo bytes for {tracks} tracks", self.tempo.len()),
            });
        }
        Ok(())
    }
}
