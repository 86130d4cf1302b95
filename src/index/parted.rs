//! [`PartedIndex`]: a published index as a page holds it: the manifest, the search parts, and
//! whatever re-ranking blocks, metadata shards, id shards and segments were fetched so far.
//!
//! It does no I/O. Callers ask what is missing ([`Fetch`] lists, from the search tasks in
//! [`crate::search::parted`]), fetch it however they can (HTTP in the browser, files in the
//! CLI) and hand the bytes to [`PartedIndex::provide`], which checks size, checksum, envelope
//! and contents before keeping anything. A part that could not be fetched is reported with
//! [`PartedIndex::fail`]; searches then degrade where they can (no re-ranking, no best
//! segment, no title) and fail with the part's name where they cannot.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::parts::ids::IdBucket;
use super::parts::manifest::{Manifest, PartFile, rerank_row_bytes, segment_row_bytes};
use super::parts::meta::{MetaShard, ShardTable, table_range};
use super::parts::neighbours::{NeighbourList, TrackLocator, check_meta, record_bytes};
use super::parts::search::{SearchPart, TagPostings};
use super::parts::{
    ENVELOPE_LEN, PartKind, block_checksum, checksum_hex, decode_payload, range_seed, rerank,
    segments,
};
use super::quantizer::Quantizer;
use super::{Postings, TrackMeta};
use crate::error::{Error, Result};

/// What a piece of a published index is, for [`Fetch`] and [`PartedIndex::provide`]. Its text
/// form (`search:0`, `rerank:0:17`, `meta-table:1`, `meta:1:3`, `ids:0:9`, `segments:123456`, `rerank-head:0`,
/// `segments-head:0`, `neighbours:123456`, `record:123456`) travels through JavaScript
/// unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartKey {
    /// Generation `g`'s search part.
    Search(u32),
    /// The first 48 bytes of generation `g`'s re-ranking part (checks its envelope and that
    /// the server answers range requests).
    RerankHead(u32),
    /// The same for the segment part.
    SegmentsHead(u32),
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
            PartKey::Search(g) => write!(f, "search:{g}"),
            PartKey::RerankHead(g) => write!(f, "rerank-head:{g}"),
            PartKey::SegmentsHead(g) => write!(f, "segments-head:{g}"),
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
            ("search", [g]) => PartKey::Search(*g),
            ("rerank-head", [g]) => PartKey::RerankHead(*g),
            ("segments-head", [g]) => PartKey::SegmentsHead(*g),
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
    /// The [`PartKey`] as text, to hand back with the bytes.
    pub key: String,
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

/// Most cached pieces of each kind; caches are trimmed when a task starts, never during one.
const MAX_RERANK_BLOCKS: usize = 8192;
const MAX_META_SHARDS: usize = 96;
const MAX_ID_BUCKETS: usize = 4096;
const MAX_SEGMENT_TRACKS: usize = 4096;
const MAX_NEIGHBOUR_LISTS: usize = 256;
const MAX_RECORDS: usize = 4096;

/// A generation's search part, integrated.
#[derive(Debug)]
pub(crate) struct LoadedGeneration {
    pub(crate) codes: Vec<u8>,
    pub(crate) rerank_checksums: Vec<u32>,
    /// One tempo byte per track ([`crate::tempo::code`]).
    pub(crate) tempo: Vec<u8>,
}

/// A published index as far as it is loaded (see the module docs).
#[derive(Debug)]
pub struct PartedIndex {
    manifest: Manifest,
    quantizer: Option<Quantizer>,
    generations: Vec<Option<LoadedGeneration>>,
    /// One bit per global position: removed by a later generation.
    removed: Vec<u64>,
    catalog_postings: Postings,
    predicted_postings: Postings,
    heads_checked: Vec<PartKey>,
    rerank: Cache<(u32, u32), Vec<u8>>,
    meta: Cache<(u32, u32), MetaShard>,
    ids: Cache<(u32, u32), IdBucket>,
    segments: Cache<u32, Vec<u8>>,
    /// Neighbour lists fetched: also where their tracks' metadata and segments are, and the
    /// checksum of their own track's re-ranking block (for blocks read before the search part).
    neighbours: Cache<u32, NeighbourList>,
    records: Cache<u32, TrackMeta>,
    /// Each generation's metadata shard table, once fetched.
    meta_tables: Vec<Option<ShardTable>>,
    failed: HashMap<PartKey, String>,
}

impl PartedIndex {
    /// Starts from manifest bytes (validated; see [`Manifest::parse`]).
    pub fn new(manifest_bytes: &[u8]) -> Result<Self> {
        Ok(Self::from_manifest(Manifest::parse(manifest_bytes)?))
    }

    /// Starts from a parsed manifest.
    pub fn from_manifest(manifest: Manifest) -> Self {
        let generations = manifest.generations.len();
        PartedIndex {
            generations: (0..manifest.generations.len()).map(|_| None).collect(),
            manifest,
            quantizer: None,
            // Grown as search parts with removals arrive: a manifest alone (which may lie) never
            // makes the index allocate per track.
            removed: Vec::new(),
            catalog_postings: Postings::new(),
            predicted_postings: Postings::new(),
            heads_checked: Vec::new(),
            rerank: Cache::new(MAX_RERANK_BLOCKS),
            meta: Cache::new(MAX_META_SHARDS),
            ids: Cache::new(MAX_ID_BUCKETS),
            segments: Cache::new(MAX_SEGMENT_TRACKS),
            neighbours: Cache::new(MAX_NEIGHBOUR_LISTS),
            records: Cache::new(MAX_RECORDS),
            meta_tables: vec![None; generations],
            failed: HashMap::new(),
        }
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The quantiser (once the base search part is loaded).
    pub fn quantizer(&self) -> Option<&Quantizer> {
        self.quantizer.as_ref()
    }

    /// Values per embedding.
    pub fn dim(&self) -> usize {
        self.manifest.dim()
    }

    /// Global positions over all generations (removed tracks included).
    pub fn len(&self) -> usize {
        self.manifest.total_positions() as usize
    }

    /// True when the index has no positions at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What must be fetched before a search on the search parts: every generation's search part,
    /// its metadata shard table, and the heads of its range-fetched parts (which also reveal a
    /// server that ignores `Range`).
    pub fn load_needs(&self) -> Vec<Fetch> {
        let mut out = Vec::new();
        for g in &self.manifest.generations {
            let n = g.generation;
            for key in [
                PartKey::Search(n),
                PartKey::RerankHead(n),
                PartKey::SegmentsHead(n),
                PartKey::MetaTable(n),
            ] {
                if !self.has(key) && !self.failed.contains_key(&key) {
                    out.push(self.fetch(key));
                }
            }
        }
        out
    }

    /// True once every search part is in: track searches can run.
    pub fn is_searchable(&self) -> bool {
        self.generations.iter().all(Option::is_some) && self.quantizer.is_some()
    }

    /// Whether the piece `key` is loaded.
    pub fn has(&self, key: PartKey) -> bool {
        match key {
            PartKey::Search(g) => self
                .generations
                .get(g as usize)
                .is_some_and(Option::is_some),
            PartKey::RerankHead(_) | PartKey::SegmentsHead(_) => self.heads_checked.contains(&key),
            PartKey::RerankBlock(g, b) => self.rerank.contains(&(g, b)),
            PartKey::MetaTable(g) => self
                .meta_tables
                .get(g as usize)
                .is_some_and(Option::is_some),
            PartKey::Meta(g, s) => self.meta.contains(&(g, s)),
            PartKey::Ids(g, s) => self.ids.contains(&(g, s)),
            PartKey::Segments(p) => self.segments.contains(&p),
            PartKey::Neighbours(p) => self.neighbours.contains(&p),
            PartKey::Record(p) => self.records.contains(&p) || self.track(p).is_some(),
        }
    }

    /// Why `key` could not be fetched, if it could not.
    pub fn failure(&self, key: PartKey) -> Option<&str> {
        self.failed.get(&key).map(String::as_str)
    }

    /// Records that `key` could not be fetched (`problem` says why; it names the part).
    pub fn fail(&mut self, key: PartKey, problem: String) {
        self.failed.insert(key, problem);
    }

    /// Forgets recorded failures, so that the next task tries those parts again.
    pub fn clear_failures(&mut self) {
        self.failed.clear();
    }

    /// The fetch for `key`. Keys that need data not loaded yet (segments before their
    /// metadata shard) give `None`.
    pub fn fetch_for(&self, key: PartKey) -> Option<Fetch> {
        if !self.key_exists(key) {
            return None;
        }
        if let PartKey::Segments(p) = key {
            let (g, local) = self.locate(p)?;
            let shard_size = self.manifest.layout.meta_shard_tracks;
            let (first, count) = self
                .meta
                .get(&(g, local / shard_size))?
                .segment_rows((local % shard_size) as usize);
            let (offset, length) = segments::rows_range(first, count, self.dim());
            let part = &self.manifest.generations[g as usize].segments;
            return Some(self.fetch_range(key, part, PartKind::Segments, offset, length));
        }
        if let PartKey::Record(p) = key {
            let (g, _) = self.locate(p)?;
            let l = self.locator(p)?;
            let part = &self.manifest.generations[g as usize].meta;
            let (offset, length) = (u64::from(l.meta_offset), u64::from(l.meta_len));
            return Some(self.fetch_range(key, part, PartKind::Meta, offset, length));
        }
        if let PartKey::Meta(g, s) = key {
            let entry = self.meta_tables.get(g as usize)?.as_ref()?.entries[s as usize];
            let part = &self.manifest.generations[g as usize].meta;
            let (offset, length) = (entry.offset, u64::from(entry.length));
            return Some(self.fetch_range(key, part, PartKind::Meta, offset, length));
        }
        Some(self.fetch(key))
    }

    /// Whether `key` names a piece this index has (keys also arrive as text from JavaScript).
    fn key_exists(&self, key: PartKey) -> bool {
        let gens = &self.manifest.generations;
        let generation = |g: u32| gens.get(g as usize);
        match key {
            PartKey::Search(g) | PartKey::RerankHead(g) | PartKey::SegmentsHead(g) => {
                generation(g).is_some()
            }
            PartKey::RerankBlock(g, b) => generation(g).is_some_and(|x| {
                u64::from(b)
                    < u64::from(x.tracks)
                        .div_ceil(u64::from(self.manifest.layout.rerank_block_rows))
            }),
            PartKey::MetaTable(g) => generation(g).is_some(),
            PartKey::Meta(g, s) => generation(g).is_some_and(|x| s < self.manifest.meta_shards(x)),
            PartKey::Ids(g, b) => {
                generation(g).is_some_and(|x| x.ids.as_ref().is_some_and(|i| b < i.layout.buckets))
            }
            PartKey::Segments(p) | PartKey::Record(p) => p < self.manifest.total_positions(),
            PartKey::Neighbours(p) => self
                .manifest
                .usable_neighbours()
                .is_some_and(|nb| p < nb.positions),
        }
    }

    fn fetch(&self, key: PartKey) -> Fetch {
        let gens = &self.manifest.generations;
        let dim = self.dim();
        let whole = |part: &PartFile, kind| Fetch {
            key: key.to_string(),
            file: part.file_name(kind),
            offset: 0,
            length: part.bytes,
            part_bytes: part.bytes,
            whole: true,
        };
        match key {
            PartKey::Search(g) => whole(&gens[g as usize].search, PartKind::Search),
            PartKey::MetaTable(g) => {
                let (offset, length) = table_range(self.manifest.meta_shards(&gens[g as usize]));
                self.fetch_range(key, &gens[g as usize].meta, PartKind::Meta, offset, length)
            }
            PartKey::Ids(g, b) => {
                let ids = gens[g as usize]
                    .ids
                    .as_ref()
                    .expect("key_exists checked it");
                let (offset, length) = ids.layout.bucket_range(b);
                self.fetch_range(key, &ids.file, PartKind::Ids, offset, length)
            }
            PartKey::Neighbours(p) => {
                let nb = self
                    .manifest
                    .neighbours
                    .as_ref()
                    .expect("key_exists checked it");
                let rb = record_bytes(nb.k);
                let offset = ENVELOPE_LEN as u64 + u64::from(p) * rb;
                self.fetch_range(key, &nb.file, PartKind::Neighbours, offset, rb)
            }
            PartKey::RerankHead(g) => {
                self.fetch_range(key, &gens[g as usize].rerank, PartKind::Rerank, 0, 48)
            }
            PartKey::SegmentsHead(g) => {
                self.fetch_range(key, &gens[g as usize].segments, PartKind::Segments, 0, 48)
            }
            PartKey::RerankBlock(g, b) => {
                let rows = gens[g as usize].tracks as usize;
                let block_rows = self.manifest.layout.rerank_block_rows as usize;
                let (offset, length) = rerank::block_range(b as usize, block_rows, rows, dim);
                self.fetch_range(
                    key,
                    &gens[g as usize].rerank,
                    PartKind::Rerank,
                    offset,
                    length,
                )
            }
            PartKey::Segments(_) | PartKey::Record(_) | PartKey::Meta(..) => {
                unreachable!("segments, records and shards are fetched through fetch_for")
            }
        }
    }

    fn fetch_range(
        &self,
        key: PartKey,
        part: &PartFile,
        kind: PartKind,
        offset: u64,
        length: u64,
    ) -> Fetch {
        Fetch {
            key: key.to_string(),
            file: part.file_name(kind),
            offset,
            length,
            part_bytes: part.bytes,
            whole: false,
        }
    }

    /// Checks and keeps the bytes fetched for `key`.
    pub fn provide(&mut self, key: PartKey, bytes: &[u8]) -> Result<()> {
        if !self.key_exists(key) {
            return Err(Error::InvalidQuery(format!(
                "{key} names no piece of this index"
            )));
        }
        let fetch = self
            .fetch_for(key)
            .ok_or_else(|| Error::PartNotLoaded(format!("the metadata for {key}")))?;
        let part = fetch.file.clone();
        let bad = |problem: String| Error::IndexPart {
            part: part.clone(),
            problem,
        };
        if bytes.len() as u64 != fetch.length {
            return Err(bad(format!(
                "{} bytes arrived where {} were expected{}",
                bytes.len(),
                fetch.length,
                if fetch.whole {
                    " (the manifest's size)"
                } else {
                    ""
                }
            )));
        }
        let gens = &self.manifest.generations;
        if fetch.whole {
            let expected = match key {
                PartKey::Search(g) => &gens[g as usize].search,
                _ => unreachable!("only search parts are fetched whole"),
            };
            if checksum_hex(bytes) != expected.xxh3 {
                return Err(bad(
                    "checksum mismatch: the file is damaged or from another build".into(),
                ));
            }
        }
        match key {
            PartKey::Search(g) => self.integrate_search(g, bytes, &part),
            PartKey::RerankHead(g) | PartKey::SegmentsHead(g) => {
                let (kind, file) = match key {
                    PartKey::RerankHead(_) => (PartKind::Rerank, &gens[g as usize].rerank),
                    _ => (PartKind::Segments, &gens[g as usize].segments),
                };
                let declared = self.manifest.envelope(kind, g).check(bytes, &part)?;
                if declared + ENVELOPE_LEN as u64 != file.bytes {
                    return Err(bad(format!(
                        "its header announces {} bytes in all, the manifest {}",
                        declared + ENVELOPE_LEN as u64,
                        file.bytes
                    )));
                }
                self.heads_checked.push(key);
                Ok(())
            }
            PartKey::RerankBlock(g, b) => {
                let expected = self.generations[g as usize]
                    .as_ref()
                    .ok_or_else(|| Error::PartNotLoaded(format!("search:{g}")))?
                    .rerank_checksums
                    .get(b as usize)
                    .copied();
                if expected != Some(block_checksum(bytes)) {
                    return Err(bad(format!(
                        "re-ranking block {b} does not match its checksum: the file is damaged \
                         or from another build"
                    )));
                }
                let width = rerank_row_bytes(self.dim());
                if bytes
                    .chunks_exact(width)
                    .any(|row| !rerank::split_row(row).0.is_finite())
                {
                    return Err(bad(format!(
                        "re-ranking block {b} holds a non-finite scale"
                    )));
                }
                self.rerank.insert((g, b), bytes.to_vec());
                Ok(())
            }
            PartKey::MetaTable(g) => {
                let generation = &gens[g as usize];
                let table = ShardTable::parse(
                    bytes,
                    self.manifest.meta_shards(generation),
                    generation.meta.bytes,
                    range_seed(&self.manifest.index_id_bytes()),
                    g,
                    &part,
                )?;
                self.meta_tables[g as usize] = Some(table);
                Ok(())
            }
            PartKey::Meta(g, s) => {
                let table = self.meta_tables[g as usize]
                    .as_ref()
                    .expect("fetch_for found it");
                if block_checksum(bytes) != table.entries[s as usize].checksum {
                    return Err(bad(format!(
                        "metadata shard {s} does not match its checksum: the file is damaged or \
                         from another build"
                    )));
                }
                let shard: MetaShard = decode_payload(bytes, &part)?;
                let size = self.manifest.layout.meta_shard_tracks;
                let tracks = size.min(gens[g as usize].tracks - s * size) as usize;
                let rows = (gens[g as usize].segments.bytes - ENVELOPE_LEN as u64)
                    / segment_row_bytes(self.dim()) as u64;
                shard.validate(tracks, rows, &part)?;
                self.meta.insert((g, s), shard);
                Ok(())
            }
            PartKey::Ids(g, b) => {
                let ids = gens[g as usize]
                    .ids
                    .as_ref()
                    .expect("key_exists checked it");
                let seed = range_seed(&self.manifest.index_id_bytes());
                let tracks = gens[g as usize].tracks;
                let bucket = IdBucket::parse(bytes, b, ids.layout, tracks, seed, &part)?;
                self.ids.insert((g, b), bucket);
                Ok(())
            }
            PartKey::Neighbours(p) => {
                let nb = self
                    .manifest
                    .neighbours
                    .as_ref()
                    .expect("key_exists checked it");
                let seed = range_seed(&self.manifest.index_id_bytes());
                let list = NeighbourList::parse(bytes, p, nb.k, nb.positions, seed, &part)?;
                self.neighbours.insert(p, list);
                Ok(())
            }
            PartKey::Record(p) => {
                let l = self.locator(p).expect("fetch_for found it");
                if !check_meta(bytes, &l) {
                    return Err(bad(format!(
                        "the metadata of position {p} does not match its checksum: the file is \
                         damaged or from another build"
                    )));
                }
                let track: TrackMeta = decode_payload(bytes, &part)?;
                if track.id.is_empty() || !track.duration_seconds.is_finite() {
                    return Err(bad("a track has no id or a non-finite duration".into()));
                }
                self.records.insert(p, track);
                Ok(())
            }
            PartKey::Segments(p) => {
                let (g, local) = self.locate(p).expect("fetch_for located it");
                let size = self.manifest.layout.meta_shard_tracks;
                let expected = self
                    .meta
                    .get(&(g, local / size))
                    .expect("fetch_for found its shard")
                    .segment_checksums[(local % size) as usize];
                if expected != block_checksum(bytes) {
                    return Err(bad(format!(
                        "the segments of the track at position {p} do not match their checksum"
                    )));
                }
                let width = segment_row_bytes(self.dim());
                if bytes.chunks_exact(width).any(|row| {
                    let (start, scale, _) = segments::split_row(row);
                    !start.is_finite() || !scale.is_finite()
                }) {
                    return Err(bad("a segment row holds a non-finite start or scale".into()));
                }
                self.segments.insert(p, bytes.to_vec());
                Ok(())
            }
        }
    }

    fn integrate_search(&mut self, g: u32, bytes: &[u8], part: &str) -> Result<()> {
        if self.has(PartKey::Search(g)) {
            return Ok(());
        }
        let payload = self
            .manifest
            .envelope(PartKind::Search, g)
            .open(bytes, part)?;
        let search: SearchPart = decode_payload(payload, part)?;
        search.validate(&self.manifest, g as usize, part)?;
        let generation = &self.manifest.generations[g as usize];
        let (first, tracks) = (generation.first_position, generation.tracks);
        let mut catalog = Postings::new();
        let mut predicted = Postings::new();
        for (lists, out) in [
            (&search.catalog_tags, &mut catalog),
            (&search.predicted_tags, &mut predicted),
        ] {
            merge_postings(lists, tracks, first, out).map_err(|e| Error::IndexPart {
                part: part.to_string(),
                problem: e.to_string(),
            })?;
        }
        for (target, source) in [
            (&mut self.catalog_postings, catalog),
            (&mut self.predicted_postings, predicted),
        ] {
            for (category, values) in source {
                let per = target.entry(category).or_default();
                for (value, mut list) in values {
                    let merged = per.entry(value).or_default();
                    merged.append(&mut list);
                    // Generations may arrive in any order; keep the lists sorted.
                    merged.sort_unstable();
                }
            }
        }
        if let Some(&last) = search.removed.last() {
            let words = last as usize / 64 + 1;
            if self.removed.len() < words {
                self.removed.resize(words, 0);
            }
        }
        for &p in &search.removed {
            self.removed[p as usize / 64] |= 1 << (p % 64);
        }
        if let Some(q) = search.quantizer {
            self.quantizer = Some(q);
        }
        self.generations[g as usize] = Some(LoadedGeneration {
            codes: search.codes,
            rerank_checksums: search.rerank_checksums,
            tempo: search.tempo,
        });
        Ok(())
    }

    /// `(generation, local position)` of a global position.
    pub fn locate(&self, position: u32) -> Option<(u32, u32)> {
        let gens = &self.manifest.generations;
        let i = gens.partition_point(|g| g.first_position + g.tracks <= position);
        let g = gens.get(i)?;
        (position >= g.first_position).then(|| (g.generation, position - g.first_position))
    }

    /// The clear predicted tempo of the track at a global position, in whole BPM, from its
    /// generation's search part (`None` when unclear or that part is not loaded).
    pub fn tempo_bpm(&self, position: u32) -> Option<f32> {
        let (g, local) = self.locate(position)?;
        let loaded = self.generations[g as usize].as_ref()?;
        crate::tempo::code::decode(*loaded.tempo.get(local as usize)?)
    }

    /// Whether the track at a global position was removed.
    pub fn is_removed(&self, position: u32) -> bool {
        self.removed
            .get(position as usize / 64)
            .is_some_and(|w| w & (1 << (position % 64)) != 0)
    }

    /// One bit per global position, set where the track was removed (shorter than the index
    /// when the last positions were never removed).
    pub fn removed_mask(&self) -> &[u64] {
        &self.removed
    }

    /// Catalog (or, with `predicted`, model-predicted) tag postings over global positions.
    pub fn postings(&self, predicted: bool) -> &Postings {
        if predicted {
            &self.predicted_postings
        } else {
            &self.catalog_postings
        }
    }

    /// Live tracks per category and value (removed tracks not counted).
    pub fn tag_counts(&self, predicted: bool) -> BTreeMap<String, BTreeMap<String, usize>> {
        self.postings(predicted)
            .iter()
            .map(|(category, values)| {
                let counts = values
                    .iter()
                    .map(|(v, list)| {
                        (
                            v.clone(),
                            list.iter().filter(|&&p| !self.is_removed(p)).count(),
                        )
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect();
                (category.clone(), counts)
            })
            .filter(|(_, counts): &(String, BTreeMap<String, usize>)| !counts.is_empty())
            .collect()
    }

    pub(crate) fn generation_state(&self, g: usize) -> Option<&LoadedGeneration> {
        self.generations.get(g).and_then(Option::as_ref)
    }

    /// The id buckets (one per generation with tracks) that may hold `id`.
    pub fn id_keys(&self, id: &str) -> Vec<PartKey> {
        self.manifest
            .generations
            .iter()
            .filter_map(|g| {
                let ids = g.ids.as_ref()?;
                Some(PartKey::Ids(g.generation, ids.layout.bucket_of(id)))
            })
            .collect()
    }

    /// Every global position that `id` was given (one per generation that added it), removed
    /// or not, oldest first. Errors when a bucket it needs is not loaded.
    pub fn positions_of(&self, id: &str) -> Result<Vec<u32>> {
        let mut found = Vec::new();
        for key in self.id_keys(id) {
            let PartKey::Ids(g, b) = key else {
                unreachable!()
            };
            let bucket = self
                .ids
                .get(&(g, b))
                .ok_or_else(|| Error::PartNotLoaded(key.to_string()))?;
            if let Some(local) = bucket.position(id) {
                found.push(self.manifest.generations[g as usize].first_position + local);
            }
        }
        Ok(found)
    }

    /// The live global position of `id`; `Ok(None)` when no generation holds it (or it was
    /// removed). Errors when a bucket it needs is not loaded.
    pub fn position_of(&self, id: &str) -> Result<Option<u32>> {
        Ok(self
            .positions_of(id)?
            .into_iter()
            .rfind(|&p| !self.is_removed(p)))
    }

    /// Where the track at a global position keeps its metadata, from a neighbour list fetched
    /// that lists it.
    fn locator(&self, position: u32) -> Option<TrackLocator> {
        self.neighbours.values().find_map(|list| {
            list.entries
                .iter()
                .find(|e| e.position == position)
                .map(|e| e.locator)
        })
    }

    /// The neighbour list of a global position, if fetched.
    pub fn neighbour_list(&self, position: u32) -> Option<&NeighbourList> {
        self.neighbours.get(&position)
    }

    /// The re-ranking block key of a global position.
    pub fn rerank_key(&self, position: u32) -> Option<PartKey> {
        let (g, local) = self.locate(position)?;
        Some(PartKey::RerankBlock(
            g,
            local / self.manifest.layout.rerank_block_rows,
        ))
    }

    /// The re-ranking row of a global position, `(scale, codes)`, if its block is loaded.
    pub fn rerank_row(&self, position: u32) -> Option<(f32, &[i8])> {
        let (g, local) = self.locate(position)?;
        let rows = self.manifest.layout.rerank_block_rows;
        let block = self.rerank.get(&(g, local / rows))?;
        let width = rerank_row_bytes(self.dim());
        let at = (local % rows) as usize * width;
        Some(rerank::split_row(&block[at..at + width]))
    }

    /// The metadata shard key of a global position, or its generation's shard table key while
    /// that table is not loaded (the shard's place is in it).
    pub fn meta_key(&self, position: u32) -> Option<PartKey> {
        let (g, local) = self.locate(position)?;
        if !self.has(PartKey::MetaTable(g)) {
            return Some(PartKey::MetaTable(g));
        }
        Some(PartKey::Meta(
            g,
            local / self.manifest.layout.meta_shard_tracks,
        ))
    }

    /// The metadata of the track at a global position, if its shard is loaded.
    pub fn track(&self, position: u32) -> Option<&TrackMeta> {
        let (g, local) = self.locate(position)?;
        let size = self.manifest.layout.meta_shard_tracks;
        self.meta
            .get(&(g, local / size))
            .map(|s| &s.tracks[(local % size) as usize])
            .or_else(|| self.records.get(&position))
    }

    /// The segment rows of the track at a global position as stored (see
    /// [`segments`](super::parts::segments)), if loaded.
    pub fn segment_bytes(&self, position: u32) -> Option<&[u8]> {
        self.segments.get(&position).map(Vec::as_slice)
    }

    /// Drops cached pieces beyond the caps (oldest first); called when a task starts.
    pub fn trim_caches(&mut self) {
        self.rerank.trim();
        self.meta.trim();
        self.ids.trim();
        self.segments.trim();
        self.neighbours.trim();
        self.records.trim();
    }

    /// Bytes held in caches and codes, roughly (for memory reports).
    pub fn held_bytes(&self) -> usize {
        let codes: usize = self
            .generations
            .iter()
            .flatten()
            .map(|g| g.codes.len() + 4 * g.rerank_checksums.len())
            .sum();
        let postings: usize = [&self.catalog_postings, &self.predicted_postings]
            .iter()
            .flat_map(|p| p.values())
            .flat_map(|v| v.values())
            .map(|l| 4 * l.len())
            .sum();
        codes
            + postings
            + self.rerank.values().map(Vec::len).sum::<usize>()
            + self.segments.values().map(Vec::len).sum::<usize>()
    }
}

/// Decodes a generation's posting lists into global positions.
fn merge_postings(
    lists: &[TagPostings],
    tracks: u32,
    first: u32,
    out: &mut Postings,
) -> Result<()> {
    for category in lists {
        let per = out.entry(category.category.clone()).or_default();
        for value in &category.values {
            let positions = value.tracks.decode(tracks)?;
            per.entry(value.value.clone())
                .or_default()
                .extend(positions.into_iter().map(|p| p + first));
        }
    }
    Ok(())
}

/// A map that forgets its least recently used entries beyond `cap` when trimmed (reads mark
/// entries as used, through a `Cell`, so that they can stay `&self`).
#[derive(Debug)]
struct Cache<K, V> {
    map: HashMap<K, (V, Cell<u64>)>,
    clock: Cell<u64>,
    cap: usize,
}

impl<K: std::hash::Hash + Eq + Copy, V> Cache<K, V> {
    fn new(cap: usize) -> Self {
        Cache {
            map: HashMap::new(),
            clock: Cell::new(0),
            cap,
        }
    }

    fn tick(&self) -> u64 {
        self.clock.set(self.clock.get() + 1);
        self.clock.get()
    }

    fn insert(&mut self, key: K, value: V) {
        let now = self.tick();
        self.map.insert(key, (value, Cell::new(now)));
    }

    fn get(&self, key: &K) -> Option<&V> {
        let (value, used) = self.map.get(key)?;
        used.set(self.tick());
        Some(value)
    }

    fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values().map(|(v, _)| v)
    }

    fn trim(&mut self) {
        if self.map.len() <= self.cap {
            return;
        }
        let mut stamps: Vec<u64> = self.map.values().map(|(_, u)| u.get()).collect();
        stamps.sort_unstable();
        let cutoff = stamps[self.map.len() - self.cap];
        self.map.retain(|_, (_, used)| used.get() >= cutoff);
    }
}
