//! Tag posting lists in the filters part: for every tag value, the sorted positions of the
//! tracks that carry it, stored in whichever of two forms is smaller.
//!
//! - **Gaps**: the differences between successive positions as LEB128 varints (the first gap
//!   is the first position). A tag on 1% of 600k tracks costs ~1 byte per track that has it.
//! - **Bitmap**: one bit per track of the generation. Smaller once more than about one track
//!   in eight carries the tag.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One tag value's tracks, compressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PostingList {
    /// LEB128 gaps between successive positions; `count` positions.
    Gaps {
        /// Number of positions.
        count: u32,
        /// The varint bytes.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Bit `p % 8` of byte `p / 8` is set for every position `p`.
    Bitmap(#[serde(with = "serde_bytes")] Vec<u8>),
}

impl PostingList {
    /// Compresses strictly increasing `positions`, all below `universe`.
    pub fn encode(positions: &[u32], universe: u32) -> PostingList {
        let mut gaps = Vec::with_capacity(positions.len());
        let mut previous = 0u32;
        for (i, &p) in positions.iter().enumerate() {
            let gap = if i == 0 { p } else { p - previous };
            write_varint(&mut gaps, gap);
            previous = p;
        }
        let bitmap_len = (universe as usize).div_ceil(8);
        if bitmap_len < gaps.len() {
            let mut bits = vec![0u8; bitmap_len];
            for &p in positions {
                bits[p as usize / 8] |= 1 << (p % 8);
            }
            PostingList::Bitmap(bits)
        } else {
            PostingList::Gaps {
                count: positions.len() as u32,
                bytes: gaps,
            }
        }
    }

    /// The positions, checked: strictly increasing and below `universe`.
    pub fn decode(&self, universe: u32) -> Result<Vec<u32>> {
        let bad = |why: &str| Err(Error::InvalidIndex(format!("posting list: {why}")));
        match self {
            PostingList::Bitmap(bits) => {
                if bits.len() != (universe as usize).div_ceil(8) {
                    return bad("bitmap size does not match the track count");
                }
                let mut out = Vec::new();
                for (byte_index, &byte) in bits.iter().enumerate() {
                    let mut b = byte;
                    while b != 0 {
                        let p = byte_index as u32 * 8 + b.trailing_zeros();
                        if p >= universe {
                            return bad("bit set past the last track");
                        }
                        out.push(p);
                        b &= b - 1;
                    }
                }
                Ok(out)
            }
            PostingList::Gaps { count, bytes } => {
                // Every varint takes at least one byte: a count above the byte length is a lie
                // told to make us allocate.
                if *count as usize > bytes.len() {
                    return bad("more positions announced than bytes present");
                }
                let mut out = Vec::with_capacity(*count as usize);
                let mut at = 0;
                let mut position = 0u64;
                for i in 0..*count {
                    let gap = read_varint(bytes, &mut at).ok_or_else(|| {
                        Error::InvalidIndex("posting list: truncated varint".into())
                    })?;
                    if i > 0 && gap == 0 {
                        return bad("positions are not strictly increasing");
                    }
                    position += u64::from(gap);
                    if position >= u64::from(universe) {
                        return bad("position past the last track");
                    }
                    out.push(position as u32);
                }
                if at != bytes.len() {
                    return bad("bytes left after the last position");
                }
                Ok(out)
            }
        }
    }

    /// Stored size, in bytes.
    pub fn byte_size(&self) -> usize {
        match self {
            PostingList::Gaps { bytes, .. } => bytes.len() + 4,
            PostingList::Bitmap(bits) => bits.len(),
        }
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut value = 0u64;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return u32::try_from(value).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_lists_use_gaps_dense_lists_bitmaps_and_both_round_trip() {
        let sparse: Vec<u32> = (0..100).map(|i| i * 997 + 3).collect();
        let list = PostingList::encode(&sparse, 100_000);
        assert!(matches!(list, PostingList::Gaps { .. }));
        assert_eq!(list.decode(100_000).unwrap(), sparse);
        let dense: Vec<u32> = (0..50_000).map(|i| i * 2).collect();
        let list = PostingList::encode(&dense, 100_000);
        assert!(matches!(list, PostingList::Bitmap(_)));
        assert_eq!(list.byte_size(), 12_500);
        assert_eq!(list.decode(100_000).unwrap(), dense);
        let empty = PostingList::encode(&[], 10);
        assert_eq!(empty.decode(10).unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn lies_are_refused() {
        let list = PostingList::encode(&[1, 5, 9], 10);
        assert!(list.decode(9).is_err(), "position past the universe");
        let lying = PostingList::Gaps {
            count: 1_000_000,
            bytes: vec![1, 1, 1],
        };
        assert!(lying.decode(100).is_err());
        let repeated = PostingList::Gaps {
            count: 2,
            bytes: vec![3, 0],
        };
        assert!(repeated.decode(100).is_err());
        let truncated = PostingList::Gaps {
            count: 1,
            bytes: vec![0x80],
        };
        assert!(truncated.decode(100).is_err());
        assert!(PostingList::Bitmap(vec![0xff]).decode(4).is_err());
        assert!(PostingList::Bitmap(vec![0xff, 0]).decode(8).is_err());
    }
}
