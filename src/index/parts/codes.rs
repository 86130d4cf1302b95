//! The codes part: one per generation, every track's compact code, as an inverted file over the
//! quantiser's cells, so that a search reads only the cells it probes.
//!
//! Within a generation, tracks are stored sorted by cell (then by their first code byte), so
//! the tracks of cell `c` are one run of positions and their codes one byte range. A page
//! fetches the head (the cell table, the removed positions) by range, scores the cells'
//! centroids, then fetches by range the cells it probes; the whole part arrives later, at
//! idle, for searches that scan everything.
//!
//! ```text
//! 48                         cells + 1 × u32 LE: first local position of each cell, then the
//!                            generation's track count (cell c = start[c] .. start[c + 1])
//! then                       cells × u32 LE: block_checksum of each cell's code bytes
//! then                       removed × u32 LE: global positions of earlier generations' tracks
//!                            that this generation removes, sorted
//! then                       u32 LE keyed_checksum(the head before it, seed, generation)
//! 48 + head_bytes            tracks × code_bytes: the codes, in position order
//! ```
//!
//! The head's size follows from the manifest (cells, the generation's `removed` count), so it is
//! fetched before anything else of the part is known.

use super::{ENVELOPE_LEN, block_checksum, keyed_checksum};
use crate::error::{Error, Result};

/// Bytes of the head of a codes part with `cells` cells and `removed` removals, checksum
/// included.
pub fn head_bytes(cells: u32, removed: u32) -> u64 {
    4 * (2 * u64::from(cells) + 1 + u64::from(removed) + 1)
}

/// Bytes of a whole codes part.
pub fn part_bytes(cells: u32, removed: u32, tracks: u32, code_bytes: u32) -> u64 {
    ENVELOPE_LEN as u64 + head_bytes(cells, removed) + u64::from(tracks) * u64::from(code_bytes)
}

/// A generation's checked head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodesHead {
    /// `cells + 1` local positions: cell `c` holds `cell_start[c] .. cell_start[c + 1]`.
    pub cell_start: Vec<u32>,
    /// [`block_checksum`] of each cell's code bytes.
    pub cell_checksums: Vec<u32>,
    /// Global positions of earlier generations' tracks this generation removes, sorted.
    pub removed: Vec<u32>,
}

impl CodesHead {
    /// Local positions of cell `c`.
    pub fn cell(&self, c: usize) -> std::ops::Range<usize> {
        self.cell_start[c] as usize..self.cell_start[c + 1] as usize
    }

    /// Cells in the table.
    pub fn cells(&self) -> usize {
        self.cell_checksums.len()
    }

    /// `(offset, length)` of cell `c`'s codes in the part file.
    pub fn cell_range(&self, c: usize, code_bytes: u32) -> (u64, u64) {
        let r = self.cell(c);
        let m = u64::from(code_bytes);
        let at = ENVELOPE_LEN as u64
            + head_bytes(self.cells() as u32, self.removed.len() as u32)
            + r.start as u64 * m;
        (at, (r.end - r.start) as u64 * m)
    }

    /// Checks the head bytes of generation `generation` (`tracks` tracks from global position
    /// `first_position`, `cells` cells, `removed` removals, keyed with the index's `seed`).
    /// `part` names the file in errors.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        bytes: &[u8],
        cells: u32,
        removed: u32,
        tracks: u32,
        first_position: u32,
        seed: u64,
        generation: u32,
        part: &str,
    ) -> Result<CodesHead> {
        let bad = |problem: &str| Error::IndexPart {
            part: part.to_string(),
            problem: format!("its cell table {problem}"),
        };
        if bytes.len() as u64 != head_bytes(cells, removed) {
            return Err(bad("has the wrong size"));
        }
        let (head, sum) = bytes.split_at(bytes.len() - 4);
        if keyed_checksum(head, seed, generation)
            != u32::from_le_bytes(sum.try_into().expect("4 bytes"))
        {
            return Err(bad(
                "does not match its checksum: the file is damaged or from another build",
            ));
        }
        let words: Vec<u32> = head
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes")))
            .collect();
        let cells = cells as usize;
        let cell_start = words[..=cells].to_vec();
        let cell_checksums = words[cells + 1..2 * cells + 1].to_vec();
        let removed = words[2 * cells + 1..].to_vec();
        if cell_start[0] != 0
            || cell_start[cells] != tracks
            || cell_start.windows(2).any(|w| w[0] > w[1])
        {
            return Err(bad("does not cover the generation's tracks in order"));
        }
        if removed.windows(2).any(|w| w[0] >= w[1])
            || removed.last().is_some_and(|&p| p >= first_position)
        {
            return Err(bad("lists removed tracks out of order or not yet added"));
        }
        Ok(CodesHead {
            cell_start,
            cell_checksums,
            removed,
        })
    }

    /// Checks the code bytes of cell `c` against its checksum. (A code past the codewords of
    /// its codebook needs no check: ADC tables have 256 entries, zero past the codewords.)
    /// `part` names the file in errors.
    pub fn check_cell(&self, c: usize, bytes: &[u8], part: &str) -> Result<()> {
        if block_checksum(bytes) != self.cell_checksums[c] {
            return Err(Error::IndexPart {
                part: part.to_string(),
                problem: format!(
                    "cell {c} does not match its checksum: the file is damaged or from another \
                     build"
                ),
            });
        }
        Ok(())
    }
}

/// The payload (after the envelope) of generation `generation`'s codes part: `codes` are
/// `tracks × code_bytes` bytes in position order, sorted by cell; `track_cells` is each
/// track's cell (sorted), `cells` the number of cells.
pub fn build_part(
    codes: &[u8],
    code_bytes: usize,
    track_cells: &[u32],
    cells: u32,
    removed: &[u32],
    seed: u64,
    generation: u32,
) -> Vec<u8> {
    let tracks = codes.len() / code_bytes;
    debug_assert_eq!(track_cells.len(), tracks);
    debug_assert!(
        track_cells.windows(2).all(|w| w[0] <= w[1]),
        "codes sorted by cell"
    );
    let starts: Vec<u32> = (0..=cells)
        .map(|c| track_cells.partition_point(|&f| f < c) as u32)
        .collect();
    debug_assert_eq!(starts[cells as usize] as usize, tracks);
    let mut head = Vec::with_capacity(head_bytes(cells, removed.len() as u32) as usize);
    for s in &starts {
        head.extend_from_slice(&s.to_le_bytes());
    }
    for w in starts.windows(2) {
        let range = w[0] as usize * code_bytes..w[1] as usize * code_bytes;
        head.extend_from_slice(&block_checksum(&codes[range]).to_le_bytes());
    }
    for p in removed {
        head.extend_from_slice(&p.to_le_bytes());
    }
    let sum = keyed_checksum(&head, seed, generation);
    head.extend_from_slice(&sum.to_le_bytes());
    head.extend_from_slice(codes);
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_round_trips_and_cells_are_byte_ranges() {
        // 5 tracks of 2 code bytes over 4 cells: cells 0 (2 tracks), 1 (0), 2 (1), 3 (2).
        let codes = [0, 3, 0, 1, 2, 2, 3, 0, 3, 3];
        let payload = build_part(&codes, 2, &[0, 0, 2, 3, 3], 4, &[3, 7], 42, 1);
        let head_len = head_bytes(4, 2) as usize;
        let head = CodesHead::parse(&payload[..head_len], 4, 2, 5, 10, 42, 1, "p").unwrap();
        assert_eq!(head.cell_start, [0, 2, 2, 3, 5]);
        assert_eq!(head.removed, [3, 7]);
        for c in 0..4 {
            let (at, len) = head.cell_range(c, 2);
            let bytes = &payload[at as usize - ENVELOPE_LEN..][..len as usize];
            assert_eq!(
                bytes,
                &codes[head.cell_start[c] as usize * 2..head.cell_start[c + 1] as usize * 2]
            );
            head.check_cell(c, bytes, "p").unwrap();
        }
        // Another generation's key, a flipped byte, removals not earlier than the generation.
        let e = CodesHead::parse(&payload[..head_len], 4, 2, 5, 10, 42, 2, "p").unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
        let mut bad = payload[..head_len].to_vec();
        bad[0] ^= 1;
        assert!(CodesHead::parse(&bad, 4, 2, 5, 10, 42, 1, "p").is_err());
        let e = CodesHead::parse(&payload[..head_len], 4, 2, 5, 5, 42, 1, "p").unwrap_err();
        assert!(e.to_string().contains("not yet added"), "{e}");
        let e = head.check_cell(0, &[0, 3, 0, 2], "p").unwrap_err();
        assert!(e.to_string().contains("cell 0"), "{e}");
    }
}
