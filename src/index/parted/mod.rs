//! [`PartedIndex`]: a published index as a page holds it: the manifest, and whatever it
//! fetched so far: the quantiser, each generation's cell table and the cells of codes a search
//! probed (or the whole codes part, once it arrived at idle), the filters parts, re-ranking
//! blocks, metadata shards, id buckets, neighbour lists and segments.
//!
//! It does no I/O. Callers ask what is missing ([`Fetch`] lists, from the search tasks in
//! [`crate::search::parted`]), fetch it however they can (HTTP in the browser, files in the
//! CLI) and hand the bytes to [`PartedIndex::provide`], which checks size, checksum, envelope
//! and contents before keeping anything. A part that could not be fetched is reported with
//! [`PartedIndex::fail`]; searches then degrade where they can (no re-ranking, no best
//! segment, no title) and fail with the part's name where they cannot.

mod cache;
mod fetch;
mod key;
mod lookup;
mod provide;
pub mod task;

use cache::Cache;
pub use key::{Fetch, PartKey};

use std::collections::HashMap;

use super::parts::codes::CodesHead;
use super::parts::ids::IdBucket;
use super::parts::manifest::Manifest;
use super::parts::meta::{MetaShard, ShardTable};
use super::parts::neighbours::NeighbourList;
use super::quantizer::Quantizer;
use super::{Postings, TrackMeta};
use crate::error::Result;

/// Most cached pieces of each kind; caches are trimmed when a task starts, never during one.
const MAX_RERANK_BLOCKS: usize = 8192;
const MAX_META_SHARDS: usize = 96;
const MAX_ID_BUCKETS: usize = 4096;
const MAX_SEGMENT_TRACKS: usize = 4096;
const MAX_NEIGHBOUR_LISTS: usize = 256;
const MAX_RECORDS: usize = 4096;

/// A generation's codes as far as fetched: its cell table, then cells or the whole part.
#[derive(Debug)]
pub(crate) struct LoadedCodes {
    pub(crate) head: CodesHead,
    /// `tracks × code_bytes` once a cell arrived (empty before); only the bytes of loaded
    /// cells are meaningful.
    pub(crate) codes: Vec<u8>,
    /// One flag per cell: its codes are in.
    pub(crate) cell_loaded: Vec<bool>,
    /// True once the whole part arrived (every cell loaded).
    pub(crate) whole: bool,
}

/// A published index as far as it is loaded (see the module docs).
#[derive(Debug)]
pub struct PartedIndex {
    manifest: Manifest,
    quantizer: Option<Quantizer>,
    /// Per generation, its codes once its cell table is in.
    codes: Vec<Option<LoadedCodes>>,
    /// Per generation, one tempo byte per track ([`crate::tempo::code`]) once its filters part
    /// is in (its posting lists are merged into the maps below).
    tempo: Vec<Option<Vec<u8>>>,
    /// One bit per global position: removed by a later generation (from the cell tables).
    removed: Vec<u64>,
    catalog_postings: Postings,
    predicted_postings: Postings,
    rerank: Cache<(u32, u32), Vec<u8>>,
    meta: Cache<(u32, u32), MetaShard>,
    ids: Cache<(u32, u32), IdBucket>,
    segments: Cache<u32, Vec<u8>>,
    /// Neighbour lists fetched: also where their tracks' metadata lies and their closest
    /// segments.
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
            codes: (0..generations).map(|_| None).collect(),
            tempo: vec![None; generations],
            manifest,
            quantizer: None,
            // Grown as cell tables with removals arrive: a manifest alone (which may lie) never
            // makes the index allocate per track.
            removed: Vec::new(),
            catalog_postings: Postings::new(),
            predicted_postings: Postings::new(),
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

    /// The quantiser (once its part is loaded).
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

    /// What the whole index needs, fetched at idle: the quantiser, every generation's codes and
    /// filters parts whole, and its metadata shard table. After it, every search scans every
    /// code, and browsing and tag counts need nothing more.
    pub fn load_needs(&self) -> Vec<Fetch> {
        let mut keys = vec![PartKey::Quantizer];
        for g in &self.manifest.generations {
            let n = g.generation;
            keys.extend([
                PartKey::Codes(n),
                PartKey::Filters(n),
                PartKey::MetaTable(n),
            ]);
        }
        self.unfetched(keys)
    }

    /// What a search by codes needs before anything else: the quantiser and every cell table
    /// (the page fetches them while a visitor's song is analysed).
    pub fn search_needs(&self) -> Vec<Fetch> {
        let gens = self.manifest.generations.len() as u32;
        self.unfetched(
            std::iter::once(PartKey::Quantizer)
                .chain((0..gens).map(PartKey::CodesHead))
                .collect(),
        )
    }

    /// The fetches of `keys` not loaded and not failed.
    fn unfetched(&self, keys: Vec<PartKey>) -> Vec<Fetch> {
        keys.into_iter()
            .filter(|&key| !self.has(key) && !self.failed.contains_key(&key))
            .map(|key| self.fetch(key))
            .collect()
    }

    /// True once the quantiser and every generation's whole codes and filters parts are in.
    pub fn is_complete(&self) -> bool {
        self.quantizer.is_some()
            && self
                .codes
                .iter()
                .all(|c| c.as_ref().is_some_and(|c| c.whole))
            && self.tempo.iter().all(Option::is_some)
    }

    /// Whether the piece `key` is loaded.
    pub fn has(&self, key: PartKey) -> bool {
        let codes = |g: u32| self.codes.get(g as usize).and_then(Option::as_ref);
        match key {
            PartKey::Quantizer => self.quantizer.is_some(),
            PartKey::CodesHead(g) => codes(g).is_some(),
            PartKey::Cell(g, c) => {
                codes(g).is_some_and(|x| x.cell_loaded.get(c as usize) == Some(&true))
            }
            PartKey::Codes(g) => codes(g).is_some_and(|x| x.whole),
            PartKey::Filters(g) => self.tempo.get(g as usize).is_some_and(Option::is_some),
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
}
