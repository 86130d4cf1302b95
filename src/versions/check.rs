//! Whether an upload is a version of a catalog track (`simsong check`, and the wheel's
//! `check`): the upload's nearest catalog tracks by embedding, verified as the audit verifies a
//! pair (fingerprints peak by peak, then timbre).

use super::audit::{compare_tracks, link_of, track_fingerprint, track_segments};
use crate::embed::TrackAnalysis;
use crate::error::{Error, Result};
use crate::index::{CatalogIndex, LinkSource, VersionLink};

/// Catalog tracks compared with an upload by default: its nearest by embedding.
pub const DEFAULT_CANDIDATES: usize = 50;

/// A catalog track the upload is a version of (or that is a version of the upload).
#[derive(Debug, Clone)]
pub struct UploadMatch {
    /// The catalog track's position.
    pub position: usize,
    /// True when the upload is found in the catalog track (a cut-down of it, a loop…); false
    /// when the catalog track is found in the upload.
    pub upload_is_part: bool,
    /// How the two line up; the upload's side is named by position `u32::MAX`.
    pub link: VersionLink,
    /// Cosine of the two track embeddings.
    pub cosine: f32,
}

/// What checking an upload found.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// Versions found, best score first.
    pub matches: Vec<UploadMatch>,
    /// The nearest catalog track by embedding (cosine, position), version or not.
    pub nearest: Option<(f32, usize)>,
}

/// Checks an upload's analysis (made with fingerprints: [`crate::frontend::FrontEnd::with_fingerprint`])
/// against the `candidates` catalog tracks nearest to it.
pub fn check_upload(
    index: &CatalogIndex,
    upload: &TrackAnalysis,
    candidates: usize,
) -> Result<CheckOutcome> {
    let Some(fingerprint) = upload.fingerprint.as_ref() else {
        return Err(Error::InvalidQuery(
            "the upload was analysed without a fingerprint".into(),
        ));
    };
    if index.fingerprints().count() == 0 {
        return Err(Error::InvalidIndex(
            "no track of the index has a fingerprint (imported without audio, or built before index format 4): build it again from the audio".into(),
        ));
    }
    let segment_seconds = index.header().analysis.patch_seconds();
    let mut nearest: Vec<(f32, usize)> = (0..index.len())
        .filter(|&t| index.fingerprints().get(t).is_some())
        .map(|t| (index.embeddings().dot(t, &upload.embedding), t))
        .collect();
    nearest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    nearest.truncate(candidates.max(1));
    let mut matches = Vec::new();
    for &(cosine, t) in &nearest {
        let Some(reference) = track_fingerprint(index, t)? else {
            continue;
        };
        let segments = track_segments(index, t);
        let (c, swapped) = compare_tracks(
            (fingerprint, &upload.segments),
            (&reference, &segments),
            segment_seconds,
        );
        if c.is_version() {
            let (q, r) = if swapped {
                (t as u32, u32::MAX)
            } else {
                (u32::MAX, t as u32)
            };
            matches.push(UploadMatch {
                position: t,
                upload_is_part: !swapped,
                link: link_of(&c, q, r, LinkSource::Detected),
                cosine,
            });
        }
    }
    matches.sort_by(|a, b| b.link.score.total_cmp(&a.link.score));
    Ok(CheckOutcome {
        matches,
        nearest: nearest.first().copied(),
    })
}
