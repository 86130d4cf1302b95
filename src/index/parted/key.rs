//! [`PartKey`], the name of a piece of a published index, and [`Fetch`], where its bytes are.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};

/// What a piece of a published index is, for [`Fetch`] and [`PartedIndex::provide`]. Its text
/// form (`quantizer`, `codes-head:0`, `cell:0:17`, `codes:0`, `filters:0`, `rerank:0:17`, `meta-table:1`, `meta:1:3`, `ids:0:9`, `segments:123456`, `neighbours:123456`,
/// `record:123456`) is what crosses into JavaScript (a [`Fetch`] serialises its key so, and the
/// wasm bindings parse it back); Rust code keeps the enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartKey {
    /// The quantiser part (one for the index), whole.
    Quantizer,
    /// The head of generation `g`'s codes part: its cell table and removals.
    CodesHead(u32),
    /// Cell `c` of generation `g`'s codes part (read where its cell table says).
    Cell(u32, u32),
    /// Generation `g`'s whole codes part (fetched at idle).
    Codes(u32),
    /// Generation `g`'s filters part (tag postings, tempo bytes), whole.
    Filters(u32),
    /// Re-ranking block `b` of generation `g`.
    RerankBlock(u32, u32),
    /// The shard table of generation `g`'s metadata part.
    MetaTable(u32),
    /// Metadata shard `s` of generation `g` (read where its table says).
    Meta(u32, u32),
    /// Id bucket `b` of generation `g`.
    Ids(u32, u32),
    /// The segment rows of the track at a global position.
    Segments(u32),
    /// The neighbour list of the track at a global position.
    Neighbours(u32),
    /// The metadata of the track at a global position alone, fetched by range from its
    /// shard file where a neighbour list located it.
    Record(u32),
}

impl fmt::Display for PartKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartKey::Quantizer => write!(f, "quantizer"),
            PartKey::CodesHead(g) => write!(f, "codes-head:{g}"),
            PartKey::Cell(g, c) => write!(f, "cell:{g}:{c}"),
            PartKey::Codes(g) => write!(f, "codes:{g}"),
            PartKey::Filters(g) => write!(f, "filters:{g}"),
            PartKey::RerankBlock(g, b) => write!(f, "rerank:{g}:{b}"),
            PartKey::MetaTable(g) => write!(f, "meta-table:{g}"),
            PartKey::Meta(g, s) => write!(f, "meta:{g}:{s}"),
            PartKey::Ids(g, s) => write!(f, "ids:{g}:{s}"),
            PartKey::Segments(p) => write!(f, "segments:{p}"),
            PartKey::Neighbours(p) => write!(f, "neighbours:{p}"),
            PartKey::Record(p) => write!(f, "record:{p}"),
        }
    }
}

impl FromStr for PartKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidQuery(format!("`{s}` is not a part key"));
        let mut it = s.split(':');
        let kind = it.next().ok_or_else(bad)?;
        let nums: Vec<u32> = it
            .map(|n| n.parse().map_err(|_| bad()))
            .collect::<Result<_>>()?;
        Ok(match (kind, nums.as_slice()) {
            ("quantizer", []) => PartKey::Quantizer,
            ("codes-head", [g]) => PartKey::CodesHead(*g),
            ("cell", [g, c]) => PartKey::Cell(*g, *c),
            ("codes", [g]) => PartKey::Codes(*g),
            ("filters", [g]) => PartKey::Filters(*g),
            ("rerank", [g, b]) => PartKey::RerankBlock(*g, *b),
            ("meta-table", [g]) => PartKey::MetaTable(*g),
            ("meta", [g, s]) => PartKey::Meta(*g, *s),
            ("ids", [g, s]) => PartKey::Ids(*g, *s),
            ("segments", [p]) => PartKey::Segments(*p),
            ("neighbours", [p]) => PartKey::Neighbours(*p),
            ("record", [p]) => PartKey::Record(*p),
            _ => return Err(bad()),
        })
    }
}

/// One piece to fetch: `length` bytes at `offset` of `file` (relative to the manifest). With
/// `whole`, the piece is the whole file and its checksum is verified as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fetch {
    /// What the piece is, to hand back with the bytes (serialised as its text form).
    #[serde(serialize_with = "key_as_text")]
    pub key: PartKey,
    /// The part file, relative to the manifest (`parts/…`).
    pub file: String,
    /// First byte of the piece.
    pub offset: u64,
    /// Bytes of the piece.
    pub length: u64,
    /// Size of the whole part file (the manifest's figure).
    pub part_bytes: u64,
    /// True when the piece is the whole file.
    pub whole: bool,
}

fn key_as_text<S: serde::Serializer>(key: &PartKey, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(key)
}
