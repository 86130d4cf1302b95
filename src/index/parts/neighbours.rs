//! Neighbour lists: every track's nearest catalog tracks, computed when the index is published,
//! so that "Similar" on a catalog track reads one small record instead of the codes.
//!
//! One part for the whole catalog (all generations), rewritten by every publication. Records
//! have a fixed size and sit in global position order, so a page fetches a track's record by
//! range from its position alone. A record lists the track itself first (entry 0), then up to
//! `k` neighbours best first, each with its score, where its metadata is (so the hits' details
//! are fetched by range, without their metadata shards) and its segment closest to the
//! record's track (so "where in the song the match lies" needs no segment rows either):
//!
//! ```text
//! record of position p at 48 + p · record_bytes(k):
//!   0  u16 entries used (1 + neighbours; 0 for a removed track)
//!   2  u16 flags (1: the track was removed)
//!   4  u32 p (the record's own position)
//!   8  (k + 1) × entry, unused entries zero:
//!        0 u32 position   4 f32 score (cosine of int8 rows, as a re-ranked search scores)
//!        8 u32 offset of the track's metadata in its metadata part file   12 u32 its length
//!       16 u32 its checksum
//!       20 f32 start (seconds) of its segment closest to the record's track
//!       24 f32 that segment's cosine with the record's track's row
//!       28 u32 bit 0: the segment fields hold a segment (0: the track has no segment rows);
//!              bits 1–31: the track's version group (the smallest global position among its
//!              versions, its own when it has none), so a list folds into one row per song
//!   end-4  u32 checksum: keyed_checksum(the bytes before, seed, p)  (super::keyed_checksum)
//! ```
//!
//! The closest segment is [`super::segments::best_segment`] of the neighbour's segment rows
//! and the record's track's int8 row, dequantised and of unit length: what a page computes for
//! a hit of a search by that track.
//!
//! Checksums are [`super::block_checksum`] of the bytes they cover; the seed is the index id's
//! ([`super::range_seed`]), so a record of another build, or read at another position,
//! is refused.

use serde::{Deserialize, Serialize};

use super::block_checksum;
use crate::error::{Error, Result};

/// Bytes of one entry.
pub const ENTRY_BYTES: usize = 32;
/// Neighbours per track when publishing: enough for the first result lists of any page size
/// up to 64 (a longer list, or a filter, is answered from the codes).
pub const DEFAULT_K: u32 = 64;

/// Bytes of one record for lists of `k` neighbours.
pub fn record_bytes(k: u32) -> u64 {
    HEADER_BYTES as u64 + (u64::from(k) + 1) * ENTRY_BYTES as u64 + 4
}

/// Bytes before a record's entries.
const HEADER_BYTES: usize = 8;

/// Where a track's metadata is in its generation's metadata part: enough to fetch and check it
/// by range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackLocator {
    /// Byte offset of the track's metadata in the metadata part file (envelope included).
    pub meta_offset: u32,
    /// Its length in bytes.
    pub meta_len: u32,
    /// Its [`block_checksum`].
    pub meta_checksum: u32,
}

/// One entry of a list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Global position.
    pub position: u32,
    /// Cosine with the record's track (1 for the track itself).
    pub score: f32,
    /// Where its details are.
    pub locator: TrackLocator,
    /// Its segment closest to the record's track: (start in seconds, cosine); `None` when it
    /// has no segment rows.
    pub best_segment: Option<(f32, f32)>,
    /// Its version group (see the module docs); below 2³¹.
    pub version_group: u32,
}

/// A track's checked record.
#[derive(Debug, Clone, PartialEq)]
pub struct NeighbourList {
    /// The track was removed: no entries.
    pub removed: bool,
    /// The track itself first, then its neighbours, best first.
    pub entries: Vec<Neighbour>,
}

/// The part as the manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NeighboursPart {
    /// The part file.
    pub file: super::manifest::PartFile,
    /// Neighbours per record.
    pub k: u32,
    /// Records (the index's positions when it was written; a list that does not cover every
    /// position is not used).
    pub positions: u32,
}

fn record_checksum(bytes: &[u8], seed: u64, position: u32) -> u32 {
    super::keyed_checksum(bytes, seed, position)
}

/// Appends the record of `position` to `out`: `list` is the track itself then its neighbours
/// (at most `k + 1` entries), empty for a removed track.
pub fn push_record(out: &mut Vec<u8>, position: u32, list: &[Neighbour], k: u32, seed: u64) {
    assert!(list.len() <= k as usize + 1, "at most k neighbours");
    assert!(
        list.iter().all(|n| n.version_group < 1 << 31),
        "version groups are positions below 2^31"
    );
    let start = out.len();
    out.extend_from_slice(&(list.len() as u16).to_le_bytes());
    out.extend_from_slice(&u16::from(list.is_empty()).to_le_bytes());
    out.extend_from_slice(&position.to_le_bytes());
    for i in 0..=k as usize {
        let Some(n) = list.get(i) else {
            out.extend_from_slice(&[0; ENTRY_BYTES]);
            continue;
        };
        let l = n.locator;
        let (start, cosine) = n.best_segment.unwrap_or((0.0, 0.0));
        for v in [
            n.position,
            n.score.to_bits(),
            l.meta_offset,
            l.meta_len,
            l.meta_checksum,
            start.to_bits(),
            cosine.to_bits(),
            u32::from(n.best_segment.is_some()) | (n.version_group << 1),
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let sum = record_checksum(&out[start..], seed, position);
    out.extend_from_slice(&sum.to_le_bytes());
}

impl NeighbourList {
    /// Checks the record of `position` (its checksum, its own position, entries inside the
    /// index's `positions`, finite scores in `[-1.01, 1.01]`, segments with a finite start and
    /// a valid cosine). `part` names the file in errors.
    pub fn parse(
        bytes: &[u8],
        position: u32,
        k: u32,
        positions: u32,
        seed: u64,
        part: &str,
    ) -> Result<NeighbourList> {
        let bad = |problem: String| Error::IndexPart {
            part: part.to_string(),
            problem: format!("the neighbour list of position {position}: {problem}"),
        };
        if bytes.len() as u64 != record_bytes(k) {
            return Err(bad("wrong size".into()));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 4);
        if record_checksum(body, seed, position)
            != u32::from_le_bytes(sum.try_into().expect("4 bytes"))
        {
            return Err(bad(
                "it does not match its checksum: the file is damaged or from another build".into(),
            ));
        }
        let u16_at = |at: usize| u16::from_le_bytes(body[at..at + 2].try_into().expect("2"));
        let u32_at = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().expect("4"));
        let used = u16_at(0) as usize;
        let removed = u16_at(2) & 1 == 1;
        if u32_at(4) != position || used > k as usize + 1 || (removed != (used == 0)) {
            return Err(bad("its header is inconsistent".into()));
        }
        let mut entries = Vec::with_capacity(used);
        for i in 0..used {
            let at = HEADER_BYTES + i * ENTRY_BYTES;
            let segment_flags = u32_at(at + 28);
            let version_group = segment_flags >> 1;
            let best_segment = (segment_flags & 1 == 1).then(|| {
                (
                    f32::from_bits(u32_at(at + 20)),
                    f32::from_bits(u32_at(at + 24)),
                )
            });
            let n = Neighbour {
                position: u32_at(at),
                score: f32::from_bits(u32_at(at + 4)),
                locator: TrackLocator {
                    meta_offset: u32_at(at + 8),
                    meta_len: u32_at(at + 12),
                    meta_checksum: u32_at(at + 16),
                },
                best_segment,
                version_group,
            };
            let valid_cosine = |x: f32| (-1.01..=1.01).contains(&x);
            if n.position >= positions || !valid_cosine(n.score) {
                return Err(bad(
                    "an entry points past the index or has no valid score".into()
                ));
            }
            if version_group >= positions
                || best_segment
                    .is_some_and(|(start, c)| !start.is_finite() || start < 0.0 || !valid_cosine(c))
            {
                return Err(bad(
                    "an entry's closest segment or version group is not valid".into(),
                ));
            }
            entries.push(n);
        }
        if entries.first().is_some_and(|e| e.position != position) {
            return Err(bad("its first entry is not the track itself".into()));
        }
        Ok(NeighbourList { removed, entries })
    }
}

/// Checks metadata bytes fetched by range against their locator.
pub fn check_meta(bytes: &[u8], locator: &TrackLocator) -> bool {
    bytes.len() == locator.meta_len as usize && block_checksum(bytes) == locator.meta_checksum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(position: u32, score: f32) -> Neighbour {
        Neighbour {
            position,
            score,
            locator: TrackLocator {
                meta_offset: 100 + position,
                meta_len: 50,
                meta_checksum: 7,
            },
            best_segment: (position != 1).then_some((3.0 * position as f32, 0.25)),
            // Positions 0 and 2 are versions of one song.
            version_group: if position == 2 { 0 } else { position },
        }
    }

    #[test]
    fn records_round_trip_and_refuse_what_is_wrong() {
        let mut out = Vec::new();
        let lists = [
            vec![entry(0, 1.0), entry(2, 0.9), entry(1, 0.5)],
            vec![],
            vec![entry(2, 1.0), entry(0, 0.9)],
        ];
        for (p, l) in lists.iter().enumerate() {
            push_record(&mut out, p as u32, l, 4, 11);
        }
        let n = record_bytes(4) as usize;
        assert_eq!(out.len(), 3 * n);
        for (p, l) in lists.iter().enumerate() {
            let got =
                NeighbourList::parse(&out[p * n..(p + 1) * n], p as u32, 4, 3, 11, "nb").unwrap();
            assert_eq!(&got.entries, l);
            assert_eq!(got.removed, l.is_empty());
        }
        // Read at another position, of another build, damaged: refused.
        assert!(NeighbourList::parse(&out[..n], 1, 4, 3, 11, "nb").is_err());
        assert!(NeighbourList::parse(&out[..n], 0, 4, 3, 12, "nb").is_err());
        let mut damaged = out[..n].to_vec();
        damaged[8] ^= 1;
        let e = NeighbourList::parse(&damaged, 0, 4, 3, 11, "nb").unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
        // Entries past the index.
        assert!(NeighbourList::parse(&out[..n], 0, 4, 2, 11, "nb").is_err());
        // A closest segment that is not one (even under a valid checksum).
        for segment in [(f32::NAN, 0.5), (-1.0, 0.5), (2.0, 1.5)] {
            let mut bad = Vec::new();
            let mut e = entry(0, 1.0);
            e.best_segment = Some(segment);
            push_record(&mut bad, 0, &[e], 4, 11);
            let err = NeighbourList::parse(&bad, 0, 4, 3, 11, "nb").unwrap_err();
            assert!(err.to_string().contains("segment"), "{err}");
        }
        // A version group past the index.
        let mut bad = Vec::new();
        let mut e = entry(0, 1.0);
        e.version_group = 3;
        push_record(&mut bad, 0, &[e], 4, 11);
        let err = NeighbourList::parse(&bad, 0, 4, 3, 11, "nb").unwrap_err();
        assert!(err.to_string().contains("version group"), "{err}");
    }
}
