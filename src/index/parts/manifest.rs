//! `index.json`: the one small file that ties a published index together.
//!
//! It carries the analysis numbers, the model's hash, the quantiser's layout and, for every
//! generation (the base, then one per `index add`/`index remove`), the size and XXH3-128 of
//! each part. Part files are named after their checksum (`parts/{kind}-{first 20 hex}.bin`), so
//! a part never changes under its name: a CDN may cache parts forever, and only this manifest
//! must be revalidated. Parsing checks everything that can be checked without the parts.

use serde::{Deserialize, Serialize};

use super::ids::IdLayout;
use super::meta::table_range;
use super::neighbours::{NeighboursPart, record_bytes};
use super::{ENVELOPE_LEN, Envelope, PARTS_FORMAT_VERSION, PartKind};
use super::{codes, rerank};
use crate::error::{Error, Result};
use crate::params::{AnalysisParams, FrontEndKind};

/// The manifest's `format` value.
pub const MANIFEST_FORMAT: &str = "simsong-index";
/// Largest manifest accepted, in bytes (a 600k-track index needs about 100 KB).
pub const MAX_MANIFEST_BYTES: usize = 32 << 20;
/// Most tracks a published index may hold (positions are `u32`; this leaves headroom).
pub const MAX_TRACKS: u64 = 1 << 31;

/// The manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// [`PARTS_FORMAT_VERSION`].
    pub version: u32,
    /// 32 hex digits naming this index (a hash of its codebooks); every part carries it.
    pub index_id: String,
    /// The tool that wrote it (`simsong 0.1.0`).
    pub created_by: String,
    /// The analysis numbers the embeddings were computed with.
    pub analysis: AnalysisParams,
    /// The front-end version the embeddings were computed with.
    pub frontend_version: u32,
    /// The tempo estimator's version the tracks' tempi were computed with
    /// ([`crate::tempo::ESTIMATOR_VERSION`]).
    pub tempo_version: u32,
    /// The model that computed the embeddings.
    pub model: ModelRef,
    /// How tracks are coded and parts are cut.
    pub layout: Layout,
    /// The quantiser's part (written with the base; every generation's codes use it).
    pub quantizer: PartFile,
    /// The base (generation 0), then one entry per delta, in order.
    pub generations: Vec<Generation>,
    /// Every track's nearest neighbours, for "Similar" without the codes (absent in
    /// indexes published without them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<NeighboursPart>,
}

/// The model behind an index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelRef {
    /// The model's name (from its metadata).
    pub name: String,
    /// SHA-256 (hex) of the ONNX file.
    pub sha256: String,
    /// False for untrained test fixtures.
    pub trained: bool,
    /// Values per embedding.
    pub embedding_dim: u32,
}

/// The shape of the codes and of the parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Layout {
    /// Code bytes per track (product-quantiser slices of the residual).
    pub code_bytes: u32,
    /// Cells: the quantiser's coarse centroids (≤ `MAX_CELLS`), one run of positions each in
    /// the codes part.
    pub centroids: u32,
    /// Rows per re-ranking block (the unit of range requests and of block checksums).
    pub rerank_block_rows: u32,
    /// Tracks per metadata shard (the last shard of a generation may hold fewer).
    pub meta_shard_tracks: u32,
}

/// One generation's parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Generation {
    /// Its number: 0 for the base, then 1, 2, … (equal to its place in the list).
    pub generation: u32,
    /// Global position of its first track (the sum of the tracks of the generations before).
    pub first_position: u32,
    /// Tracks it adds.
    pub tracks: u32,
    /// Tracks of earlier generations it removes.
    pub removed: u32,
    /// The codes part: a cell table, then the codes by cell ([`super::codes`]).
    pub codes: PartFile,
    /// The filters part: tag postings and tempo bytes ([`super::filters`]).
    pub filters: PartFile,
    /// The re-ranking rows.
    pub rerank: PartFile,
    /// The segment rows.
    pub segments: PartFile,
    /// The metadata part: a table, then `ceil(tracks / meta_shard_tracks)` shards.
    pub meta: PartFile,
    /// The id buckets (absent when the generation adds no track).
    pub ids: Option<IdsPart>,
}

/// A generation's id part and its shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdsPart {
    /// The part file.
    pub file: PartFile,
    /// Its buckets and slots.
    pub layout: IdLayout,
}

/// Size and checksum of one part file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartFile {
    /// Size in bytes.
    pub bytes: u64,
    /// XXH3-128 of the whole file, 32 lowercase hex digits.
    pub xxh3: String,
}

impl PartFile {
    /// The file name of a part of `kind`, relative to the manifest.
    pub fn file_name(&self, kind: PartKind) -> String {
        format!("parts/{}-{}.bin", kind.name(), &self.xxh3[..20])
    }
}

/// Bytes of one re-ranking row: an `f32` scale, `dim` int8 values and its hit locator.
pub fn rerank_row_bytes(dim: usize) -> usize {
    4 + dim + super::rerank::LOCATOR_BYTES
}

/// Bytes of one segment row: its start (`f32` seconds), an `f32` scale, `dim` int8 values.
pub fn segment_row_bytes(dim: usize) -> usize {
    8 + dim
}

impl Manifest {
    /// Parses and validates manifest bytes.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let bad = |why: String| Err(Error::InvalidIndex(why));
        if bytes.is_empty() {
            return bad("the manifest is empty".into());
        }
        if bytes.starts_with(&crate::index::format::MAGIC) {
            return bad(
                "this is a one-file index (format 1), not the manifest of a published index: \
                 publish it for the web with `simsong index merge FILE.idx --out DIR` and point \
                 the page at DIR/index.json"
                    .into(),
            );
        }
        if bytes.len() > MAX_MANIFEST_BYTES {
            return bad(format!(
                "the manifest is {} bytes, more than the {MAX_MANIFEST_BYTES} allowed",
                bytes.len()
            ));
        }
        let text = std::str::from_utf8(bytes);
        if text.is_ok_and(|t| t.trim_start().starts_with('<')) {
            return bad(
                "not a catalog manifest: the server sent a web page (HTML); check the URL".into(),
            );
        }
        // The format and version first, so that another version is named as such rather than
        // as malformed. (Read straight from the bytes, twice: a `serde_json::Value` in between
        // would cost the search module kilobytes of code.)
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
            version: Option<u64>,
        }
        let head: Head = serde_json::from_slice(bytes)
            .map_err(|e| Error::InvalidIndex(format!("the manifest is not valid JSON: {e}")))?;
        if head.format.as_deref() != Some(MANIFEST_FORMAT) {
            return bad(format!(
                "not a catalog manifest (its `format` is not \"{MANIFEST_FORMAT}\")"
            ));
        }
        match head.version {
            Some(v) if v == u64::from(PARTS_FORMAT_VERSION) => {}
            Some(v) => {
                return Err(Error::IndexVersion {
                    found: v.min(u64::from(u32::MAX)) as u32,
                    supported: PARTS_FORMAT_VERSION,
                });
            }
            None => return bad("the manifest has no format version".into()),
        }
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| Error::InvalidIndex(format!("the manifest is malformed: {e}")))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The manifest as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        out.push(b'\n');
        out
    }

    /// Checks every invariant that does not need the parts.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidIndex(format!("manifest: {why}")));
        self.analysis.validate()?;
        let kind = FrontEndKind::checked(&self.analysis, "the index")?;
        if self.frontend_version != kind.version() {
            return bad(format!(
                "built with front-end version {}, this build computes version {}",
                self.frontend_version,
                kind.version()
            ));
        }
        crate::tempo::ensure_estimator_version(self.tempo_version)
            .map_err(|why| Error::InvalidIndex(format!("manifest: {why}")))?;
        if !is_hex(&self.index_id, 32) {
            return bad("indexId is not 32 hex digits".into());
        }
        let dim = self.model.embedding_dim as usize;
        let l = &self.layout;
        if !(1..=4096).contains(&dim) {
            return bad(format!("embedding size {dim} is out of range"));
        }
        if !(1..=256).contains(&l.code_bytes)
            || !(1..=crate::index::quantizer::MAX_CELLS as u32).contains(&l.centroids)
        {
            return bad("quantiser sizes are out of range".into());
        }
        if !(1..=1 << 16).contains(&l.rerank_block_rows)
            || !(1..=1 << 20).contains(&l.meta_shard_tracks)
        {
            return bad("block or shard sizes are out of range".into());
        }
        if self.generations.is_empty() {
            return bad("no generations".into());
        }
        if !is_hex(&self.quantizer.xxh3, 32)
            || self.quantizer.bytes < ENVELOPE_LEN as u64
            || self.quantizer.bytes > (super::SMALL_PAYLOAD_BYTES + ENVELOPE_LEN) as u64
        {
            return bad("the quantiser part's size or checksum is malformed".into());
        }
        let mut next_position = 0u64;
        for (i, g) in self.generations.iter().enumerate() {
            let name = |what: &str| format!("generation {i}: {what}");
            if g.generation as usize != i {
                return bad(name("numbered out of order"));
            }
            if u64::from(g.first_position) != next_position {
                return bad(name(
                    "first position does not follow the previous generation",
                ));
            }
            next_position += u64::from(g.tracks);
            if next_position > MAX_TRACKS {
                return bad("more tracks than a published index can hold".into());
            }
            let parts = [&g.codes, &g.filters, &g.rerank, &g.segments, &g.meta]
                .into_iter()
                .chain(g.ids.as_ref().map(|i| &i.file));
            for p in parts {
                if !is_hex(&p.xxh3, 32) || p.bytes < ENVELOPE_LEN as u64 || p.bytes > 1 << 40 {
                    return bad(name("a part's size or checksum is malformed"));
                }
            }
            let rows = u64::from(g.tracks);
            if g.rerank.bytes != rerank::part_bytes(rows, l.rerank_block_rows, dim) {
                return bad(name(&format!(
                    "the re-ranking part must hold {rows} rows of {} bytes in blocks of {}",
                    rerank_row_bytes(dim),
                    l.rerank_block_rows
                )));
            }
            if g.codes.bytes != codes::part_bytes(l.centroids, g.removed, g.tracks, l.code_bytes) {
                return bad(name(&format!(
                    "the codes part must hold a table of {} cells, {} removals and {rows} codes of {} bytes",
                    l.centroids, g.removed, l.code_bytes
                )));
            }
            if !(g.segments.bytes - ENVELOPE_LEN as u64)
                .is_multiple_of(segment_row_bytes(dim) as u64)
            {
                return bad(name("the segment part is not made of whole rows"));
            }
            let (table_at, table_len) = table_range(self.meta_shards(g));
            if g.meta.bytes < table_at + table_len {
                return bad(name("the metadata part is too small for its shard table"));
            }
            match &g.ids {
                None if rows == 0 => {}
                Some(ids)
                    if rows > 0
                        && (1..=rows).contains(&u64::from(ids.layout.buckets))
                        && (1..=1 << 16).contains(&ids.layout.slots)
                        && ids.file.bytes == ids.layout.part_bytes() => {}
                _ => return bad(name("the id part's shape is wrong")),
            }
        }
        if let Some(nb) = &self.neighbours
            && (!is_hex(&nb.file.xxh3, 32)
                || !(1..=1024).contains(&nb.k)
                || nb.positions > self.total_positions()
                || nb.file.bytes
                    != ENVELOPE_LEN as u64 + u64::from(nb.positions) * record_bytes(nb.k))
        {
            return bad("the neighbours part's shape is wrong".into());
        }
        Ok(())
    }

    /// The index id as the 16 bytes every part's envelope carries.
    pub fn index_id_bytes(&self) -> [u8; 16] {
        u128::from_str_radix(&self.index_id, 16)
            .unwrap_or_default()
            .to_be_bytes()
    }

    /// The envelope a part of `kind` in `generation` must carry.
    pub fn envelope(&self, kind: PartKind, generation: u32) -> Envelope {
        Envelope {
            kind,
            generation,
            index_id: self.index_id_bytes(),
        }
    }

    /// Tracks over all generations (removed ones included).
    pub fn total_positions(&self) -> u32 {
        self.generations
            .last()
            .map_or(0, |g| g.first_position + g.tracks)
    }

    /// Tracks that are searchable (added minus removed).
    pub fn live_tracks(&self) -> u64 {
        let removed: u64 = self.generations.iter().map(|g| u64::from(g.removed)).sum();
        u64::from(self.total_positions()).saturating_sub(removed)
    }

    /// Metadata shards of a generation.
    pub fn meta_shards(&self, g: &Generation) -> u32 {
        g.tracks.div_ceil(self.layout.meta_shard_tracks)
    }

    /// The generation the neighbours part's envelope names: the last one, when it was written.
    pub fn neighbours_generation(&self) -> u32 {
        self.generations.len().saturating_sub(1) as u32
    }

    /// The neighbours part, when it covers every position (a page answers "Similar" from it).
    pub fn usable_neighbours(&self) -> Option<&NeighboursPart> {
        self.neighbours
            .as_ref()
            .filter(|nb| nb.positions == self.total_positions())
    }

    /// Values per embedding.
    pub fn dim(&self) -> usize {
        self.model.embedding_dim as usize
    }

    /// Every part file of every generation, with its kind: `(kind, generation, file)`.
    pub fn all_parts(&self) -> Vec<(PartKind, u32, &PartFile)> {
        let mut out = vec![(PartKind::Quantizer, 0, &self.quantizer)];
        for g in &self.generations {
            out.push((PartKind::Codes, g.generation, &g.codes));
            out.push((PartKind::Filters, g.generation, &g.filters));
            out.push((PartKind::Rerank, g.generation, &g.rerank));
            out.push((PartKind::Segments, g.generation, &g.segments));
            out.push((PartKind::Meta, g.generation, &g.meta));
            out.extend(g.ids.iter().map(|p| (PartKind::Ids, g.generation, &p.file)));
        }
        if let Some(nb) = &self.neighbours {
            out.push((PartKind::Neighbours, self.neighbours_generation(), &nb.file));
        }
        out
    }
}

/// The index id for a quantiser and model: XXH3-128 of both, as 32 hex digits.
pub fn index_id_for(quantizer_bytes: &[u8], model_sha256: &str) -> String {
    let mut bytes = quantizer_bytes.to_vec();
    bytes.extend_from_slice(model_sha256.as_bytes());
    super::checksum_hex(&bytes)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
