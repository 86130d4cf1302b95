//! Metadata shards: the store's metadata of `meta_shard_tracks` consecutive positions, fetched
//! for the rows on screen only, with where each track's segment rows are.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::TrackMeta;

/// One shard's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaShard {
    /// Metadata of the shard's tracks, in position order.
    pub tracks: Vec<TrackMeta>,
    /// Row of the generation's segment part where the shard's first track's segments start.
    pub segment_first_row: u64,
    /// Segment rows of each track.
    pub segment_counts: Vec<u16>,
    /// [`super::block_checksum`] of each track's segment rows.
    pub segment_checksums: Vec<u32>,
}

impl MetaShard {
    /// Checks sizes against what the manifest says: `tracks` tracks, and a segment part of
    /// `segment_rows` rows. `part` names the shard in errors.
    pub fn validate(&self, tracks: usize, segment_rows: u64, part: &str) -> Result<()> {
        let bad = |problem: &str| {
            Err(Error::IndexPart {
                part: part.to_string(),
                problem: problem.to_string(),
            })
        };
        if self.tracks.len() != tracks
            || self.segment_counts.len() != tracks
            || self.segment_checksums.len() != tracks
        {
            return bad("it does not hold the tracks the manifest says it does");
        }
        let rows: u64 = self.segment_counts.iter().map(|&c| u64::from(c)).sum();
        if self
            .segment_first_row
            .checked_add(rows)
            .is_none_or(|end| end > segment_rows)
        {
            return bad("its segments lie outside the segment part");
        }
        if self
            .tracks
            .iter()
            .any(|t| t.id.is_empty() || !t.duration_seconds.is_finite())
        {
            return bad("a track has no id or a non-finite duration");
        }
        Ok(())
    }

    /// First segment row and row count of the shard's `i`-th track.
    pub fn segment_rows(&self, i: usize) -> (u64, u64) {
        let before: u64 = self.segment_counts[..i].iter().map(|&c| u64::from(c)).sum();
        (
            self.segment_first_row + before,
            u64::from(self.segment_counts[i]),
        )
    }
}

/// Where each track of a shard is: the byte range of its metadata inside the shard file
/// `file` (envelope included), and its segment rows. Errors when the file does not hold the
/// shard's tracks where its encoding puts them.
pub fn track_locators(
    shard: &MetaShard,
    file: &[u8],
    part: &str,
) -> Result<Vec<super::neighbours::TrackLocator>> {
    let bad = || Error::IndexPart {
        part: part.to_string(),
        problem: "its tracks do not lie where their encoding puts them".into(),
    };
    // bincode writes a Vec as its length (a varint, as a u64 is written) and its items.
    let mut at = super::ENVELOPE_LEN + super::encode_payload(&(shard.tracks.len() as u64))?.len();
    let mut row = shard.segment_first_row;
    let mut out = Vec::with_capacity(shard.tracks.len());
    for (i, track) in shard.tracks.iter().enumerate() {
        let bytes = super::encode_payload(track)?;
        let stored = file.get(at..at + bytes.len()).ok_or_else(bad)?;
        if stored != bytes.as_slice() {
            return Err(bad());
        }
        out.push(super::neighbours::TrackLocator {
            meta_offset: u32::try_from(at).map_err(|_| bad())?,
            meta_len: bytes.len() as u32,
            meta_checksum: super::block_checksum(&bytes),
            segment_first_row: u32::try_from(row).map_err(|_| bad())?,
            segment_count: shard.segment_counts[i],
            segment_checksum: shard.segment_checksums[i],
        });
        row += u64::from(shard.segment_counts[i]);
        at += bytes.len();
    }
    Ok(out)
}
