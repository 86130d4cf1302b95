//! Id buckets: track id → local position, for searches by catalog track, one range request per
//! generation.
//!
//! An id is found by its 64-bit hash (`xxh3_64` of its UTF-8 bytes): the hash picks a bucket
//! (`hash % buckets`), and every bucket has the same number of slots, so the bucket's byte range
//! follows from its number and no directory is needed. A slot is the hash and the local
//! position; empty slots are zero hashes. Each bucket ends with its own checksum, seeded with
//! the index id and the bucket's number, so a damaged bucket, a bucket read at the wrong offset
//! and a bucket of another build are all refused.
//!
//! ```text
//! bucket b at 48 + b · (slots · 12 + 4):
//!   slots × { hash u64 LE, local position u32 LE }   (unused: hash 0, position 0)
//!   checksum u32 LE = keyed_checksum(slot bytes, seed, b)  (see super::keyed_checksum)
//! ```
//!
//! Ids themselves are not stored: two ids of one generation with the same 64-bit hash fail the
//! publication, and an id that is not in the catalog is mistaken for one that is with a
//! probability of about `tracks / 2⁶⁴`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Bytes of one slot: the id's hash (`u64`) and its local position (`u32`).
pub const SLOT_BYTES: usize = 12;
/// Tracks per bucket on average when publishing (a bucket of 8-16 slots is 100-200 bytes).
pub const TRACKS_PER_BUCKET: usize = 8;

/// The shape of a generation's id part, as the manifest records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdLayout {
    /// Buckets in the part.
    pub buckets: u32,
    /// Slots per bucket (the fullest bucket's load).
    pub slots: u32,
}

impl IdLayout {
    /// Bytes of one bucket, checksum included.
    pub fn bucket_bytes(&self) -> u64 {
        u64::from(self.slots) * SLOT_BYTES as u64 + 4
    }

    /// Bytes of the whole part, its envelope included.
    pub fn part_bytes(&self) -> u64 {
        super::ENVELOPE_LEN as u64 + u64::from(self.buckets) * self.bucket_bytes()
    }

    /// `(offset, length)` in the part of bucket `b`.
    pub fn bucket_range(&self, b: u32) -> (u64, u64) {
        (
            super::ENVELOPE_LEN as u64 + u64::from(b) * self.bucket_bytes(),
            self.bucket_bytes(),
        )
    }

    /// The bucket that holds `id`.
    pub fn bucket_of(&self, id: &str) -> u32 {
        (id_hash(id) % u64::from(self.buckets.max(1))) as u32
    }
}

/// The 64-bit hash an id is stored under (never 0: 0 marks an empty slot).
pub fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes()).max(1)
}

fn bucket_checksum(slots: &[u8], seed: u64, bucket: u32) -> u32 {
    super::keyed_checksum(slots, seed, bucket)
}

/// The payload of an id part for `ids` (in local position order), and its layout. Errors when
/// two ids share a hash.
pub fn build(ids: &[&str], seed: u64) -> Result<(IdLayout, Vec<u8>)> {
    let buckets = ids.len().div_ceil(TRACKS_PER_BUCKET).max(1);
    let mut by_bucket: Vec<Vec<(u64, u32)>> = vec![Vec::new(); buckets];
    for (position, id) in ids.iter().enumerate() {
        let h = id_hash(id);
        by_bucket[(h % buckets as u64) as usize].push((h, position as u32));
    }
    let slots = by_bucket.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let layout = IdLayout {
        buckets: buckets as u32,
        slots: slots as u32,
    };
    let mut out = Vec::with_capacity(buckets * layout.bucket_bytes() as usize);
    for (b, mut entries) in by_bucket.into_iter().enumerate() {
        entries.sort_unstable();
        if entries.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(Error::InvalidIndex(
                "two track ids have the same 64-bit hash; rename one of them".into(),
            ));
        }
        let start = out.len();
        for i in 0..slots {
            let (h, p) = entries.get(i).copied().unwrap_or((0, 0));
            out.extend_from_slice(&h.to_le_bytes());
            out.extend_from_slice(&p.to_le_bytes());
        }
        let sum = bucket_checksum(&out[start..], seed, b as u32);
        out.extend_from_slice(&sum.to_le_bytes());
    }
    Ok((layout, out))
}

/// One checked bucket: `(hash, local position)` of its ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdBucket {
    entries: Vec<(u64, u32)>,
}

impl IdBucket {
    /// Checks bucket `b`'s bytes (its checksum, that its hashes belong to it, positions below
    /// `tracks`). `part` names the file in errors.
    pub fn parse(
        bytes: &[u8],
        b: u32,
        layout: IdLayout,
        tracks: u32,
        seed: u64,
        part: &str,
    ) -> Result<IdBucket> {
        let bad = |problem: String| Error::IndexPart {
            part: part.to_string(),
            problem,
        };
        if bytes.len() as u64 != layout.bucket_bytes() {
            return Err(bad(format!("id bucket {b} has the wrong size")));
        }
        let (slots, sum) = bytes.split_at(bytes.len() - 4);
        if bucket_checksum(slots, seed, b) != u32::from_le_bytes(sum.try_into().expect("4 bytes")) {
            return Err(bad(format!(
                "id bucket {b} does not match its checksum: the file is damaged or from \
                 another build"
            )));
        }
        let mut entries = Vec::new();
        for slot in slots.chunks_exact(SLOT_BYTES) {
            let h = u64::from_le_bytes(slot[..8].try_into().expect("8 bytes"));
            let p = u32::from_le_bytes(slot[8..].try_into().expect("4 bytes"));
            if h == 0 {
                continue;
            }
            if h % u64::from(layout.buckets) != u64::from(b) || p >= tracks {
                return Err(bad(format!(
                    "id bucket {b} holds an id of another bucket or a position past the \
                     generation"
                )));
            }
            entries.push((h, p));
        }
        Ok(IdBucket { entries })
    }

    /// The local position of `id`, if this bucket holds it.
    pub fn position(&self, id: &str) -> Option<u32> {
        let h = id_hash(id);
        self.entries.iter().find(|e| e.0 == h).map(|e| e.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_is_found_in_its_bucket_and_others_are_not() {
        let ids: Vec<String> = (0..1000).map(|i| format!("track-{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (layout, payload) = build(&refs, 42).unwrap();
        assert_eq!(layout.buckets, 125);
        assert_eq!(
            payload.len() as u64 + 48,
            layout.part_bytes(),
            "fixed-size buckets"
        );
        for (p, id) in refs.iter().enumerate() {
            let b = layout.bucket_of(id);
            let (offset, length) = layout.bucket_range(b);
            let bytes = &payload[offset as usize - 48..(offset + length) as usize - 48];
            let bucket = IdBucket::parse(bytes, b, layout, 1000, 42, "ids").unwrap();
            assert_eq!(bucket.position(id), Some(p as u32));
            assert_eq!(bucket.position("not-a-track"), None);
        }
        // A bucket read at another bucket's offset, damaged, or of another build: refused.
        let one = layout.bucket_bytes() as usize;
        let first = &payload[..one];
        let e = IdBucket::parse(first, 1, layout, 1000, 42, "ids").unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
        let e = IdBucket::parse(first, 0, layout, 1000, 43, "ids").unwrap_err();
        assert!(e.to_string().contains("another build"), "{e}");
        let mut damaged = first.to_vec();
        damaged[3] ^= 1;
        assert!(IdBucket::parse(&damaged, 0, layout, 1000, 42, "ids").is_err());
    }
}
