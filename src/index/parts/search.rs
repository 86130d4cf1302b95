//! The search part of a generation: everything a page needs before its first search, fetched
//! whole. For the base generation that includes the quantiser (coarse centroids and codebooks).

use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use crate::error::{Error, Result};
use crate::index::postings::PostingList;
use crate::index::quantizer::Quantizer;

/// The search part's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchPart {
    /// The quantiser: in generation 0 only (deltas reuse it).
    pub quantizer: Option<Quantizer>,
    /// Residual-quantiser codes, `tracks × code_bytes`, in position order.
    #[serde(with = "serde_bytes")]
    pub codes: Vec<u8>,
    /// [`super::block_checksum`] of every re-ranking block of this generation.
    pub rerank_checksums: Vec<u32>,
    /// Catalog tag posting lists (local positions).
    pub catalog_tags: Vec<TagPostings>,
    /// Predicted tag posting lists (local positions).
    pub predicted_tags: Vec<TagPostings>,
    /// One [`crate::tempo::code`] byte per track, in position order: its clear predicted tempo
    /// (or none), so tempo filters need no metadata fetch.
    #[serde(with = "serde_bytes")]
    pub tempo: Vec<u8>,
    /// Global positions of earlier generations' tracks that this generation removes, sorted.
    pub removed: Vec<u32>,
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

impl SearchPart {
    /// Checks the part against the manifest entry of `generation`; `part` names it in errors.
    pub fn validate(&self, manifest: &Manifest, generation: usize, part: &str) -> Result<()> {
        let bad = |problem: String| {
            Err(Error::IndexPart {
                part: part.to_string(),
                problem,
            })
        };
        let g = &manifest.generations[generation];
        let layout = &manifest.layout;
        let tracks = g.tracks as usize;
        match (&self.quantizer, generation) {
            (Some(q), 0) => {
                q.validate(manifest.dim())?;
                if (q.stages, q.centroids) != (layout.code_bytes, layout.centroids) {
                    return bad("its quantiser does not have the manifest's shape".into());
                }
            }
            (None, 0) => return bad("the base generation carries no quantiser".into()),
            (Some(_), _) => return bad("a delta generation carries a quantiser".into()),
            (None, _) => {}
        }
        if self.codes.len() != tracks * layout.code_bytes as usize {
            return bad(format!(
                "{} code bytes for {tracks} tracks of {} bytes",
                self.codes.len(),
                layout.code_bytes
            ));
        }
        if layout.centroids < 256 && self.codes.iter().any(|&c| u32::from(c) >= layout.centroids) {
            return bad("a code names a centroid that does not exist".into());
        }
        if self.rerank_checksums.len() != tracks.div_ceil(layout.rerank_block_rows as usize) {
            return bad("wrong number of re-ranking block checksums".into());
        }
        if self.tempo.len() != tracks {
            return bad(format!(
                "{} tempo bytes for {tracks} tracks",
                self.tempo.len()
            ));
        }
        if self.removed.len() != g.removed as usize
            || self.removed.windows(2).any(|w| w[0] >= w[1])
            || self.removed.last().is_some_and(|&p| p >= g.first_position)
        {
            return bad("its list of removed tracks is inconsistent".into());
        }
        Ok(())
    }
}
