//! Segment rows: the embeddings of every track's 3 s segments, to find where in a hit the
//! match lies. Fetched by HTTP range for the hits shown only; the metadata shard holding a
//! track gives its rows (`segment_first_row` and the counts) and their checksum, and so does
//! its re-ranking row (`rerank::HitLocator`).
//!
//! Row layout: start of the segment (`f32` seconds), `f32` scale, then `dim` int8 values.

use super::ENVELOPE_LEN;
use super::manifest::segment_row_bytes;

/// Byte range `(offset, length)` of `count` rows starting at row `first`.
pub fn rows_range(first: u64, count: u64, dim: usize) -> (u64, u64) {
    let row = segment_row_bytes(dim) as u64;
    (ENVELOPE_LEN as u64 + first * row, count * row)
}

/// Splits a row into its start (seconds), scale and codes.
pub fn split_row(row: &[u8]) -> (f32, f32, &[i8]) {
    let start = f32::from_le_bytes(row[..4].try_into().unwrap());
    let (scale, codes) = super::rerank::split_scaled(&row[4..]);
    (start, scale, codes)
}

/// Appends one row.
pub fn push_row(out: &mut Vec<u8>, start_seconds: f32, scale: f32, codes: &[i8]) {
    out.extend_from_slice(&start_seconds.to_le_bytes());
    super::rerank::push_scaled(out, scale, codes);
}

/// The segment of `rows` (a track's segment rows, as stored) closest to `query` (unit length):
/// its start (seconds) and its cosine, as `scale × (codes · query)`; `None` without rows. The
/// publisher stores this per neighbour and a page computes it per hit, with this one function,
/// so both give the same segment (and its cosine to within rounding of the query).
pub fn best_segment(rows: &[u8], dim: usize, query: &[f32]) -> Option<(f32, f32)> {
    rows.chunks_exact(segment_row_bytes(dim))
        .map(split_row)
        .map(|(start, scale, codes)| (start, scale * crate::index::vectors::dot_i8(codes, query)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}
