//! The published index (format 3): a manifest and static parts that a page fetches as it needs
//! them. The layout is documented in `docs/index-format.md`.
//!
//! - [`manifest`]: `index.json`, ties the parts together (analysis numbers, model, sizes and
//!   checksums of every part).
//! - the quantiser: the cells' centroids and the codebooks, one part for the index, fetched whole
//!   by a search that ranks by codes (cached for good: it changes only with a full rebuild).
//! - [`codes`]: every track's compact code as an inverted file over the quantiser's first
//!   stage: a cell table, then the cells, fetched by range for the cells a search probes.
//! - [`filters`]: tag posting lists and tempo bytes, fetched whole by searches that filter.
//! - [`rerank`]: int8 embeddings, fetched by byte range in self-checking blocks for a
//!   shortlist only.
//! - [`meta`]: track metadata in shards of consecutive positions, for the rows on screen.
//! - [`segments`]: per-segment embeddings, fetched by byte range for the hits shown.
//! - [`ids`]: track id → position, in shards chosen by a hash of the id.
//!
//! Every part starts with the same 48-byte envelope ([`Envelope`]), which names its kind, its
//! generation and the index it belongs to, so a part from another build is refused by name
//! even when it happens to be well formed.

pub mod codes;
pub mod filters;
pub mod ids;
pub mod manifest;
pub mod meta;
pub mod neighbours;
pub mod rerank;
pub mod segments;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// First eight bytes of every part.
pub const PART_MAGIC: [u8; 8] = *b"SIMSPRT\x1a";
/// The published format's version, shared by the manifest and every part (11: metadata
/// without the versions a store declares; 10: re-ranking rows and neighbour entries name each
/// track's version group; 9: the quantiser's
/// codebooks as int8, and every re-ranking row says where its track's details are; 8: the search part
/// split into the quantiser, the codes as an inverted file read by cell, and the filters;
/// re-ranking blocks carry their own checksums; 7: neighbour
/// entries carry the hit's closest segment instead of where its segment rows are; 6: id buckets
/// fetched by range instead of id shards, and the neighbours part; 5: the manifest
/// names the tempo estimator's version; 4: a tempo byte per track in the search part, the
/// predicted tempo in the metadata).
pub const PARTS_FORMAT_VERSION: u32 = 11;
/// Bytes before a part's payload.
pub const ENVELOPE_LEN: usize = 48;

/// What a part holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartKind {
    /// Tag postings and tempo bytes ([`filters::FiltersPart`]).
    Filters = 1,
    /// int8 re-ranking rows ([`rerank`]).
    Rerank = 2,
    /// Segment rows ([`segments`]).
    Segments = 3,
    /// A metadata shard ([`meta::MetaShard`]).
    Meta = 4,
    /// Id buckets ([`ids`]), fetched by range.
    Ids = 5,
    /// The catalog's neighbour lists ([`neighbours`]), fetched by range.
    Neighbours = 6,
    /// The compact codes by cell ([`codes`]).
    Codes = 7,
    /// The quantiser ([`crate::index::quantizer::Quantizer`]), one for the index.
    Quantizer = 8,
}

impl PartKind {
    /// The name used in file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            PartKind::Filters => "filters",
            PartKind::Rerank => "rerank",
            PartKind::Segments => "segments",
            PartKind::Meta => "meta",
            PartKind::Ids => "ids",
            PartKind::Neighbours => "neighbours",
            PartKind::Codes => "codes",
            PartKind::Quantizer => "quantizer",
        }
    }

    fn from_u32(v: u32) -> Option<PartKind> {
        Some(match v {
            1 => PartKind::Filters,
            2 => PartKind::Rerank,
            3 => PartKind::Segments,
            4 => PartKind::Meta,
            5 => PartKind::Ids,
            6 => PartKind::Neighbours,
            7 => PartKind::Codes,
            8 => PartKind::Quantizer,
            _ => return None,
        })
    }
}

/// The fixed header of every part.
///
/// ```text
/// offset  size  field
///      0     8  magic b"SIMSPRT\x1a"
///      8     4  format version, u32 LE (PARTS_FORMAT_VERSION)
///     12     4  part kind, u32 LE (1 filters, 2 rerank, 3 segments, 4 meta, 5 ids,
///                 6 neighbours, 7 codes, 8 quantizer)
///     16     4  generation, u32 LE
///     20     4  reserved, 0
///     24    16  index id (the manifest's `indexId`)
///     40     8  payload length in bytes, u64 LE
///     48     …  payload
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    /// What the part holds.
    pub kind: PartKind,
    /// The generation (0 = the base, then one per delta) the part belongs to.
    pub generation: u32,
    /// The index the part belongs to.
    pub index_id: [u8; 16],
}

impl Envelope {
    /// The part's bytes: this envelope followed by `payload`.
    pub fn wrap(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENVELOPE_LEN + payload.len());
        out.extend_from_slice(&self.header(payload.len() as u64));
        out.extend_from_slice(payload);
        out
    }

    /// The envelope's [`ENVELOPE_LEN`] bytes for a payload of `payload_len` bytes (a part
    /// written in pieces starts with them).
    pub fn header(&self, payload_len: u64) -> [u8; ENVELOPE_LEN] {
        let mut out = [0u8; ENVELOPE_LEN];
        out[..8].copy_from_slice(&PART_MAGIC);
        out[8..12].copy_from_slice(&PARTS_FORMAT_VERSION.to_le_bytes());
        out[12..16].copy_from_slice(&(self.kind as u32).to_le_bytes());
        out[16..20].copy_from_slice(&self.generation.to_le_bytes());
        out[24..40].copy_from_slice(&self.index_id);
        out[40..].copy_from_slice(&payload_len.to_le_bytes());
        out
    }

    /// Checks the first [`ENVELOPE_LEN`] bytes of a part against what the manifest says it
    /// must be; returns the payload length the envelope announces. `part` names the file in
    /// errors.
    pub fn check(&self, bytes: &[u8], part: &str) -> Result<u64> {
        let bad = |problem: String| {
            Err(Error::IndexPart {
                part: part.to_string(),
                problem,
            })
        };
        if bytes.len() < ENVELOPE_LEN {
            return bad(format!(
                "truncated: {} bytes, shorter than the {ENVELOPE_LEN}-byte part header",
                bytes.len()
            ));
        }
        if bytes[..8] != PART_MAGIC {
            return bad(not_a_part(bytes));
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let version = u32_at(8);
        if version != PARTS_FORMAT_VERSION {
            return bad(format!(
                "format version {version}, this build reads {PARTS_FORMAT_VERSION}"
            ));
        }
        let kind = PartKind::from_u32(u32_at(12));
        if kind != Some(self.kind) {
            return bad(format!(
                "holds {} data where the manifest expects {} data",
                kind.map_or("unknown", PartKind::name),
                self.kind.name()
            ));
        }
        if bytes[24..40] != self.index_id || u32_at(16) != self.generation {
            return bad(
                "belongs to another build of the index (its index id or generation differs from \
                 the manifest's): the parts on the server are out of step, publish them again"
                    .into(),
            );
        }
        Ok(u64::from_le_bytes(bytes[40..48].try_into().unwrap()))
    }

    /// Checks a whole part and returns its payload.
    pub fn open<'a>(&self, bytes: &'a [u8], part: &str) -> Result<&'a [u8]> {
        let declared = self.check(bytes, part)?;
        let present = (bytes.len() - ENVELOPE_LEN) as u64;
        if declared != present {
            return Err(Error::IndexPart {
                part: part.to_string(),
                problem: format!(
                    "its header announces {declared} payload bytes, the file holds {present}"
                ),
            });
        }
        Ok(&bytes[ENVELOPE_LEN..])
    }
}

fn not_a_part(bytes: &[u8]) -> String {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(16)]).to_ascii_lowercase();
    if head.trim_start().starts_with('<') {
        "not an index part: the server sent a web page (HTML) instead".into()
    } else {
        "not an index part (wrong magic bytes)".into()
    }
}

/// `bincode` 2 (standard configuration) of a part payload.
pub fn encode_payload<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| Error::InvalidIndex(format!("cannot encode a part: {e}")))
}

/// Decodes a bincode payload under a byte limit of twice its size rounded up to a tier (16 MiB,
/// 1 GiB; larger payloads are refused), so no length field inside can make the decoder allocate
/// more than that. Errors name `part`.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8], part: &str) -> Result<T> {
    fn decode<const LIMIT: usize, T: DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
        let config = bincode::config::standard().with_limit::<LIMIT>();
        let (value, used) = bincode::serde::decode_from_slice(payload, config)
            .map_err(|e| format!("undecodable: {e}"))?;
        if used != payload.len() {
            return Err(format!(
                "{} undecoded bytes at the end",
                payload.len() - used
            ));
        }
        Ok(value)
    }
    // Few tiers: each is a copy of every decoder in the search module a page downloads first.
    // No bincode part comes near 512 MiB (a 2M-track filters part is a few MB; metadata comes
    // in shards), so larger payloads are refused rather than given a third copy.
    const MIB: usize = 1 << 20;
    let result = match 2 * payload.len() {
        n if n <= 16 * MIB => decode::<{ 16 * MIB }, T>(payload),
        n if n <= 1024 * MIB => decode::<{ 1024 * MIB }, T>(payload),
        _ => Err(format!(
            "{} bytes of encoded data, more than the 512 MiB a part may hold",
            payload.len()
        )),
    };
    result.map_err(|problem| Error::IndexPart {
        part: part.to_string(),
        problem,
    })
}

/// Largest quantiser payload a manifest may announce (8 MiB; 1,000 cells × 128 values and 32
/// codebooks of 256 × 4 are 0.16 MB).
pub const SMALL_PAYLOAD_BYTES: usize = 8 << 20;

/// XXH3-128 of a whole part file, as the manifest writes it (32 lowercase hex digits).
pub fn checksum_hex(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// The seed of the checksums of pieces fetched by range that are checked on their own (id
/// buckets, neighbour records): the index id's first eight bytes, so that such a piece of
/// another build is refused.
pub fn range_seed(index_id: &[u8; 16]) -> u64 {
    u64::from_le_bytes(index_id[..8].try_into().expect("8 bytes"))
}

/// The checksum of a piece read by range and checked on its own: [`block_checksum`] of its
/// bytes, keyed with the index's `seed` ([`range_seed`]) and the piece's number (a bucket, a
/// position), so that a piece of another build or read at the wrong offset is refused. (The
/// key is mixed in by a second hash rather than `xxh3_64_with_seed`, whose separate code would
/// grow the search module.)
pub fn keyed_checksum(bytes: &[u8], seed: u64, number: u32) -> u32 {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..].copy_from_slice(&number.to_le_bytes());
    block_checksum(bytes) ^ block_checksum(&key)
}

/// 32-bit checksum of a block of rows (the low half of XXH3-64): catches damage and rows from
/// another build in the pieces fetched by range, which the whole-part checksum cannot cover.
pub fn block_checksum(bytes: &[u8]) -> u32 {
    xxhash_rust::xxh3::xxh3_64(bytes) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_and_names_what_is_wrong() {
        let env = Envelope {
            kind: PartKind::Meta,
            generation: 2,
            index_id: [7; 16],
        };
        let bytes = env.wrap(b"hello");
        assert_eq!(env.open(&bytes, "p").unwrap(), b"hello");
        let other_build = Envelope {
            index_id: [8; 16],
            ..env
        };
        let e = other_build.open(&bytes, "parts/meta-x.bin").unwrap_err();
        assert!(
            e.to_string()
                .contains("parts/meta-x.bin: belongs to another build"),
            "{e}"
        );
        let e = Envelope {
            kind: PartKind::Ids,
            ..env
        }
        .open(&bytes, "p")
        .unwrap_err();
        assert!(e.to_string().contains("meta data where"), "{e}");
        let e = env.open(&bytes[..50], "p").unwrap_err();
        assert!(e.to_string().contains("announces 5 payload bytes"), "{e}");
        let e = env
            .open(
                b"<!DOCTYPE html><html>........................................",
                "p",
            )
            .unwrap_err();
        assert!(e.to_string().contains("HTML"), "{e}");
    }
}
