//! Re-ranking rows: every track's embedding as int8 with one scale, in position order, so that
//! the shortlist that the compact codes select can be re-scored almost exactly. A row holds the
//! track's residual from the centroid of its cell (the embedding minus the centroid: with
//! format 8's 256 cells, 0.4 of its length on average), so int8 rounding costs 2.5 times less
//! than on the embedding itself: at 600k synthetic tracks and 256 cells, the top 10 of a track
//! by its dequantised rows held 0.975 of the exact top 10, against 0.955 with the embedding as
//! int8 (f16: 0.989). Format 9's 1,000 cells leave smaller residuals still.
//!
//! A page fetches them by HTTP range, one block of `rerank_block_rows` rows at a time (the
//! blocks of a shortlist are fetched together; neighbouring blocks merge into one request).
//! Every block carries its own checksum, so a block is checked without any other part.
//!
//! Every row also says where the track's details are ([`HitLocator`]: its metadata record and
//! its segment rows, with their checksums), so that the hits of a search fetch exactly their
//! own details, all at once, right after re-ranking: no metadata shard of 256 tracks (at 600k
//! tracks, 0.32 MB for the ten hits of a dropped file) and no second round trip for the
//! segments. And it names the track's version group (the smallest global position among its
//! versions: cut-downs, loops, re-encodings of one song), so that a shortlist folds into one
//! row per song without another fetch.
//!
//! ```text
//! block b   rows × { f32 LE scale, dim × int8, locator }   (value ≈ centroid + scale · code;
//!           the last block may hold fewer rows), then u32 LE keyed_checksum(the rows, seed, b)
//! locator   u32 meta offset, u32 meta length, u32 meta checksum, u32 first segment row,
//!           u16 segment rows, u32 segments checksum, u32 version group (all LE;
//!           LOCATOR_BYTES = 26)
//! ```

use super::manifest::rerank_row_bytes;
use super::neighbours::TrackLocator;
use super::{ENVELOPE_LEN, keyed_checksum};
use crate::error::{Error, Result};

/// Bytes of a re-ranking part of `rows` rows in blocks of `block_rows`.
pub fn part_bytes(rows: u64, block_rows: u32, dim: usize) -> u64 {
    ENVELOPE_LEN as u64
        + rows * rerank_row_bytes(dim) as u64
        + 4 * rows.div_ceil(u64::from(block_rows))
}

/// Byte range `(offset, length)` of block `block` (its checksum included) in a re-ranking part
/// of `rows` rows.
pub fn block_range(block: usize, block_rows: usize, rows: usize, dim: usize) -> (u64, u64) {
    let first = block * block_rows;
    let count = block_rows.min(rows.saturating_sub(first));
    let row = rerank_row_bytes(dim) as u64;
    let full = block_rows as u64 * row + 4;
    (
        ENVELOPE_LEN as u64 + block as u64 * full,
        count as u64 * row + 4,
    )
}

/// Offset of row `local` in the part file.
pub fn row_offset(local: usize, block_rows: usize, dim: usize) -> usize {
    let (block, within) = (local / block_rows, local % block_rows);
    let row = rerank_row_bytes(dim);
    ENVELOPE_LEN + block * (block_rows * row + 4) + within * row
}

/// The payload (after the envelope) of a re-ranking part: `rows` (whole rows, in position
/// order) cut into blocks of `block_rows`, each followed by its checksum.
pub fn build_part(rows: &[u8], block_rows: usize, dim: usize, seed: u64) -> Vec<u8> {
    let block_bytes = block_rows * rerank_row_bytes(dim);
    let mut out = Vec::with_capacity(rows.len() + 4 * rows.len().div_ceil(block_bytes.max(1)));
    for (b, block) in rows.chunks(block_bytes).enumerate() {
        out.extend_from_slice(block);
        out.extend_from_slice(&keyed_checksum(block, seed, b as u32).to_le_bytes());
    }
    out
}

/// Checks block `b` as fetched (its rows, then its checksum; finite scales) and returns its
/// rows. `part` names the file in errors.
pub fn check_block<'a>(
    bytes: &'a [u8],
    seed: u64,
    b: u32,
    dim: usize,
    part: &str,
) -> Result<&'a [u8]> {
    let bad = |problem: String| Error::IndexPart {
        part: part.to_string(),
        problem,
    };
    if bytes.len() < 4 {
        return Err(bad(format!("re-ranking block {b} is truncated")));
    }
    let (rows, sum) = bytes.split_at(bytes.len() - 4);
    if keyed_checksum(rows, seed, b) != u32::from_le_bytes(sum.try_into().expect("4 bytes")) {
        return Err(bad(format!(
            "re-ranking block {b} does not match its checksum: the file is damaged or from \
             another build"
        )));
    }
    let width = rerank_row_bytes(dim);
    if !rows.len().is_multiple_of(width)
        || rows
            .chunks_exact(width)
            .any(|row| !split_row(row, dim).0.is_finite())
    {
        return Err(bad(format!(
            "re-ranking block {b} holds a non-finite scale"
        )));
    }
    Ok(rows)
}

/// The unit vector a row stands for: `centroid + scale · codes`, made unit length (the centroid:
/// the centroid of the track's cell).
pub fn dequantize(centroid: &[f32], scale: f32, codes: &[i8]) -> Vec<f32> {
    let mut v: Vec<f32> = centroid
        .iter()
        .zip(codes)
        .map(|(&c, &q)| c + scale * f32::from(q))
        .collect();
    crate::index::vectors::l2_normalize(&mut v);
    v
}

/// Bytes of a row's [`HitLocator`].
pub const LOCATOR_BYTES: usize = 26;

/// Where a track's details are in its generation's parts: its metadata record and its segment
/// rows, each with its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HitLocator {
    /// The metadata record (as neighbour lists locate it).
    pub meta: TrackLocator,
    /// Index of its first segment row in the segments part.
    pub segment_first_row: u32,
    /// Its segment rows.
    pub segment_count: u16,
    /// [`super::block_checksum`] of its segment rows.
    pub segment_checksum: u32,
    /// Its version group: the smallest global position among the track and its versions
    /// (its own position when it has none).
    pub version_group: u32,
}

/// Splits scaled int8 values as stored (re-ranking and segment rows): the f32 LE scale, then
/// the values.
pub fn split_scaled(bytes: &[u8]) -> (f32, &[i8]) {
    let scale = f32::from_le_bytes(bytes[..4].try_into().unwrap());
    // SAFETY: i8 and u8 have the same size and alignment.
    let codes =
        unsafe { std::slice::from_raw_parts(bytes[4..].as_ptr() as *const i8, bytes.len() - 4) };
    (scale, codes)
}

/// Splits a row of `dim` values into its scale and codes.
pub fn split_row(row: &[u8], dim: usize) -> (f32, &[i8]) {
    split_scaled(&row[..4 + dim])
}

/// The locator at the end of a row of `dim` values.
pub fn row_locator(row: &[u8], dim: usize) -> HitLocator {
    let at = 4 + dim;
    let u32_at = |i: usize| u32::from_le_bytes(row[at + i..at + i + 4].try_into().unwrap());
    HitLocator {
        meta: TrackLocator {
            meta_offset: u32_at(0),
            meta_len: u32_at(4),
            meta_checksum: u32_at(8),
        },
        segment_first_row: u32_at(12),
        segment_count: u16::from_le_bytes(row[at + 16..at + 18].try_into().unwrap()),
        segment_checksum: u32_at(18),
        version_group: u32_at(22),
    }
}

/// Appends scaled int8 values: the scale, then the values.
pub fn push_scaled(out: &mut Vec<u8>, scale: f32, codes: &[i8]) {
    out.extend_from_slice(&scale.to_le_bytes());
    out.extend(codes.iter().map(|&c| c as u8));
}

/// Appends one row: the scale, the codes, the locator.
pub fn push_row(out: &mut Vec<u8>, scale: f32, codes: &[i8], locator: &HitLocator) {
    push_scaled(out, scale, codes);
    let m = locator.meta;
    for v in [
        m.meta_offset,
        m.meta_len,
        m.meta_checksum,
        locator.segment_first_row,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&locator.segment_count.to_le_bytes());
    out.extend_from_slice(&locator.segment_checksum.to_le_bytes());
    out.extend_from_slice(&locator.version_group.to_le_bytes());
}
