//! Metadata: one part per generation, read by range. A table says where each shard lies; a
//! shard is the store's metadata of `meta_shard_tracks` consecutive positions with where each
//! track's segment rows are, fetched for the rows on screen only; and one track's metadata can
//! be read alone where a neighbour list locates it ([`track_locators`]).
//!
//! ```text
//! 48               shards × { offset u64 LE (from the file's start), length u32 LE,
//!                             block_checksum u32 LE of the shard's bytes }
//! 48 + 16·shards   u32 LE keyed_checksum(the table, seed, generation)
//! then             the shards, each bincode of a MetaShard
//! ```
//!
//! So the manifest names one file per generation (a 600k-track index once listed 2,344 shard
//! files, 250 kB of manifest before any search), and every range read is checked on its own.

use serde::{Deserialize, Serialize};

use super::{ENVELOPE_LEN, block_checksum, encode_payload, keyed_checksum};
use crate::error::{Error, Result};
use crate::index::TrackMeta;

/// Bytes of one table entry.
pub const TABLE_ENTRY_BYTES: usize = 16;

/// `(offset, length)` of the table of a part of `shards` shards (its checksum included).
pub fn table_range(shards: u32) -> (u64, u64) {
    (
        ENVELOPE_LEN as u64,
        u64::from(shards) * TABLE_ENTRY_BYTES as u64 + 4,
    )
}

/// Where one shard lies in its part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardEntry {
    /// First byte, from the start of the file.
    pub offset: u64,
    /// Bytes.
    pub length: u32,
    /// [`block_checksum`] of its bytes.
    pub checksum: u32,
}

/// A generation's checked shard table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardTable {
    /// One entry per shard, in position order.
    pub entries: Vec<ShardEntry>,
}

impl ShardTable {
    /// Checks the table bytes of generation `generation` (`shards` entries, inside a file of
    /// `part_bytes`, after the table, keyed with the index's `seed`). `part` names the file.
    pub fn parse(
        bytes: &[u8],
        shards: u32,
        part_bytes: u64,
        seed: u64,
        generation: u32,
        part: &str,
    ) -> Result<ShardTable> {
        let bad = |problem: &str| Error::IndexPart {
            part: part.to_string(),
            problem: format!("its shard table {problem}"),
        };
        let (start, length) = table_range(shards);
        if bytes.len() as u64 != length {
            return Err(bad("has the wrong size"));
        }
        let (table, sum) = bytes.split_at(bytes.len() - 4);
        if keyed_checksum(table, seed, generation)
            != u32::from_le_bytes(sum.try_into().expect("4 bytes"))
        {
            return Err(bad(
                "does not match its checksum: the file is damaged or from another build",
            ));
        }
        let mut entries = Vec::with_capacity(shards as usize);
        for e in table.chunks_exact(TABLE_ENTRY_BYTES) {
            let entry = ShardEntry {
                offset: u64::from_le_bytes(e[..8].try_into().expect("8 bytes")),
                length: u32::from_le_bytes(e[8..12].try_into().expect("4 bytes")),
                checksum: u32::from_le_bytes(e[12..].try_into().expect("4 bytes")),
            };
            let end = entry.offset.checked_add(u64::from(entry.length));
            if entry.offset < start + length || end.is_none_or(|end| end > part_bytes) {
                return Err(bad("points outside the file"));
            }
            entries.push(entry);
        }
        Ok(ShardTable { entries })
    }
}

/// The payload (after the envelope) of generation `generation`'s metadata part.
pub fn build_part(shards: &[MetaShard], seed: u64, generation: u32) -> Result<Vec<u8>> {
    let encoded = shards
        .iter()
        .map(encode_payload)
        .collect::<Result<Vec<_>>>()?;
    let mut out = build_table(&encoded, seed, generation)?;
    for e in encoded {
        out.extend(e);
    }
    Ok(out)
}

/// The start of a metadata part's payload: the shard table (with its checksum) of the shards
/// `encoded` (each shard's bincode bytes, in order), which follow it. A publisher that writes
/// the part in pieces writes this, then the shards.
pub fn build_table(encoded: &[Vec<u8>], seed: u64, generation: u32) -> Result<Vec<u8>> {
    let (start, length) = table_range(encoded.len() as u32);
    let mut offset = start + length;
    let mut out = Vec::with_capacity(length as usize);
    for e in encoded {
        let too_large = || Error::InvalidIndex("a metadata shard is over 4 GB".into());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(
            &u32::try_from(e.len())
                .map_err(|_| too_large())?
                .to_le_bytes(),
        );
        out.extend_from_slice(&block_checksum(e).to_le_bytes());
        offset += e.len() as u64;
    }
    let sum = keyed_checksum(&out, seed, generation);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// Every shard of a whole metadata part (envelope included), with its offset in the file: for
/// the tools that read whole parts (the CLI). See [`each_shard`].
pub fn read_shards(
    file: &[u8],
    shards: u32,
    seed: u64,
    generation: u32,
    part: &str,
) -> Result<Vec<(u64, MetaShard)>> {
    let mut out = Vec::with_capacity(shards as usize);
    each_shard(file, shards, seed, generation, part, |offset, shard| {
        out.push((offset, shard));
        Ok(())
    })?;
    Ok(out)
}

/// Checks the table of a whole metadata part (envelope included), then decodes its shards one
/// at a time, in order, and gives each, with its offset in the file, to `each`: publishing's
/// neighbour lists read a whole catalog's metadata so, never holding more than one shard.
pub fn each_shard(
    file: &[u8],
    shards: u32,
    seed: u64,
    generation: u32,
    part: &str,
    mut each: impl FnMut(u64, MetaShard) -> Result<()>,
) -> Result<()> {
    let (start, length) = table_range(shards);
    let cut = |offset: u64, length: u64| {
        file.get(offset as usize..(offset + length) as usize)
            .ok_or_else(|| Error::IndexPart {
                part: part.to_string(),
                problem: "truncated".into(),
            })
    };
    let table = ShardTable::parse(
        cut(start, length)?,
        shards,
        file.len() as u64,
        seed,
        generation,
        part,
    )?;
    for e in &table.entries {
        let bytes = cut(e.offset, u64::from(e.length))?;
        if block_checksum(bytes) != e.checksum {
            return Err(Error::IndexPart {
                part: part.to_string(),
                problem: "a shard does not match its checksum".into(),
            });
        }
        each(e.offset, super::decode_payload(bytes, part)?)?;
    }
    Ok(())
}

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

/// Where each track of a shard is: the byte range of its metadata in the metadata part `file`
/// (envelope included) where the shard starts at `shard_offset`. Errors
/// when the file does not hold the shard's tracks where its encoding puts them.
pub fn track_locators(
    shard: &MetaShard,
    file: &[u8],
    shard_offset: u64,
    part: &str,
) -> Result<Vec<super::neighbours::TrackLocator>> {
    let stored = usize::try_from(shard_offset)
        .ok()
        .and_then(|at| file.get(at..))
        .unwrap_or_default();
    shard_locators(shard, stored, shard_offset, part)
}

/// [`track_locators`] from the shard's own bytes (`stored`: the part's bytes from the shard's
/// start, at `shard_offset` in the file), as a publisher has them before the part is whole.
pub fn shard_locators(
    shard: &MetaShard,
    stored: &[u8],
    shard_offset: u64,
    part: &str,
) -> Result<Vec<super::neighbours::TrackLocator>> {
    let bad = || Error::IndexPart {
        part: part.to_string(),
        problem: "its tracks do not lie where their encoding puts them".into(),
    };
    // bincode writes a Vec as its length (a varint, as a u64 is written) and its items.
    let mut at = encode_payload(&(shard.tracks.len() as u64))?.len();
    let mut out = Vec::with_capacity(shard.tracks.len());
    for track in &shard.tracks {
        let bytes = encode_payload(track)?;
        if stored.get(at..at + bytes.len()) != Some(bytes.as_slice()) {
            return Err(bad());
        }
        out.push(super::neighbours::TrackLocator {
            meta_offset: u32::try_from(shard_offset + at as u64).map_err(|_| bad())?,
            meta_len: bytes.len() as u32,
            meta_checksum: block_checksum(&bytes),
        });
        at += bytes.len();
    }
    Ok(out)
}
