//! Re-ranking rows: every track's embedding as int8 with one scale, in position order, so that
//! the shortlist that the compact codes select can be re-scored almost exactly.
//!
//! A page fetches them by HTTP range, one block of `rerank_block_rows` rows at a time (the
//! blocks of a shortlist are fetched together; neighbouring blocks merge into one request),
//! and checks each block against its checksum in the search part. Row layout: `f32` scale
//! (little-endian), then `dim` int8 values; value ≈ scale · code.

use super::ENVELOPE_LEN;
use super::manifest::rerank_row_bytes;

/// Byte range `(offset, length)` of block `block` in a re-ranking part of `rows` rows.
pub fn block_range(block: usize, block_rows: usize, rows: usize, dim: usize) -> (u64, u64) {
    let first = block * block_rows;
    let count = block_rows.min(rows.saturating_sub(first));
    let row = rerank_row_bytes(dim) as u64;
    (ENVELOPE_LEN as u64 + first as u64 * row, count as u64 * row)
}

/// Splits a row into its scale and codes.
pub fn split_row(row: &[u8]) -> (f32, &[i8]) {
    let scale = f32::from_le_bytes(row[..4].try_into().unwrap());
    // SAFETY: i8 and u8 have the same size and alignment.
    let codes =
        unsafe { std::slice::from_raw_parts(row[4..].as_ptr() as *const i8, row.len() - 4) };
    (scale, codes)
}

/// Appends one row: the scale, then the codes.
pub fn push_row(out: &mut Vec<u8>, scale: f32, codes: &[i8]) {
    out.extend_from_slice(&scale.to_le_bytes());
    out.extend(codes.iter().map(|&c| c as u8));
}
