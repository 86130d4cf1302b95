//! [`PartedIndex::provide`]: the bytes fetched for a [`PartKey`], checked (size, checksum,
//! envelope, contents) before anything is kept.

use super::{LoadedCodes, PartKey, PartedIndex};
use crate::error::{Error, Result};
use crate::index::parts::codes::{self, CodesHead};
use crate::index::parts::filters::{FiltersPart, TagPostings};
use crate::index::parts::ids::IdBucket;
use crate::index::parts::manifest::index_id_for;
use crate::index::parts::manifest::segment_row_bytes;
use crate::index::parts::meta::{MetaShard, ShardTable};
use crate::index::parts::neighbours::{NeighbourList, check_meta};
use crate::index::parts::{
    ENVELOPE_LEN, PartKind, block_checksum, checksum_hex, decode_payload, range_seed, rerank,
    segments,
};
use crate::index::quantizer::Quantizer;
use crate::index::{Postings, TrackMeta};

impl PartedIndex {
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
                PartKey::Quantizer => &self.manifest.quantizer,
                PartKey::Codes(g) => &gens[g as usize].codes,
                PartKey::Filters(g) => &gens[g as usize].filters,
                // Only the quantiser, codes and filters parts are fetched whole. (No message:
                // every byte of the search module is on a page's first load.)
                _ => unreachable!(),
            };
            if checksum_hex(bytes) != expected.xxh3 {
                return Err(bad(
                    "checksum mismatch: the file is damaged or from another build".into(),
                ));
            }
        }
        match key {
            PartKey::Quantizer => self.integrate_quantizer(bytes, &part),
            PartKey::CodesHead(g) => self.integrate_codes_head(g, bytes, &part),
            PartKey::Cell(g, c) => {
                let layout = self.manifest.layout;
                let loaded = self.codes[g as usize]
                    .as_mut()
                    .expect("fetch_for found its cell table");
                loaded.head.check_cell(c as usize, bytes, &part)?;
                let m = layout.code_bytes as usize;
                if loaded.codes.is_empty() {
                    loaded.codes = vec![0; gens[g as usize].tracks as usize * m];
                }
                let r = loaded.head.cell(c as usize);
                loaded.codes[r.start * m..r.end * m].copy_from_slice(bytes);
                loaded.cell_loaded[c as usize] = true;
                Ok(())
            }
            PartKey::Codes(g) => self.integrate_codes(g, bytes, &part),
            PartKey::Filters(g) => self.integrate_filters(g, bytes, &part),
            PartKey::RerankBlock(g, b) => {
                let seed = range_seed(&self.manifest.index_id_bytes());
                let rows = rerank::check_block(bytes, seed, b, self.dim(), &part)?;
                self.rerank.insert((g, b), rows.to_vec());
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
                let expected = self.segment_rows(p).expect("fetch_for found its rows").2;
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

    fn integrate_quantizer(&mut self, bytes: &[u8], part: &str) -> Result<()> {
        let payload = self
            .manifest
            .envelope(PartKind::Quantizer, 0)
            .open(bytes, part)?;
        let bad = |problem: &str| Error::IndexPart {
            part: part.to_string(),
            problem: problem.to_string(),
        };
        // The index id is a hash of these bytes and the model's: a quantiser of another build
        // cannot pass for this one.
        if index_id_for(payload, &self.manifest.model.sha256) != self.manifest.index_id {
            return Err(bad("it is not the quantiser this index was coded with"));
        }
        let q = Quantizer::from_bytes(payload, self.dim()).map_err(|e| bad(&e.to_string()))?;
        let l = &self.manifest.layout;
        if (q.subspaces, q.cells) != (l.code_bytes, l.centroids) {
            return Err(bad("its quantiser does not have the manifest's shape"));
        }
        self.quantizer = Some(q);
        Ok(())
    }

    /// Keeps a generation's cell table and its removals (once).
    fn integrate_codes_head(&mut self, g: u32, bytes: &[u8], part: &str) -> Result<()> {
        if self.codes[g as usize].is_some() {
            return Ok(());
        }
        let generation = &self.manifest.generations[g as usize];
        let head = CodesHead::parse(
            bytes,
            self.manifest.layout.centroids,
            generation.removed,
            generation.tracks,
            generation.first_position,
            range_seed(&self.manifest.index_id_bytes()),
            g,
            part,
        )?;
        if let Some(&last) = head.removed.last() {
            let words = last as usize / 64 + 1;
            if self.removed.len() < words {
                self.removed.resize(words, 0);
            }
        }
        for &p in &head.removed {
            self.removed[p as usize / 64] |= 1 << (p % 64);
        }
        self.codes[g as usize] = Some(LoadedCodes {
            cell_loaded: vec![false; head.cells()],
            head,
            codes: Vec::new(),
            whole: false,
        });
        Ok(())
    }

    fn integrate_codes(&mut self, g: u32, bytes: &[u8], part: &str) -> Result<()> {
        if self.has(PartKey::Codes(g)) {
            return Ok(());
        }
        let payload = self
            .manifest
            .envelope(PartKind::Codes, g)
            .open(bytes, part)?;
        let layout = self.manifest.layout;
        let generation = &self.manifest.generations[g as usize];
        let head_len = codes::head_bytes(layout.centroids, generation.removed) as usize;
        let codes_len = generation.tracks as usize * layout.code_bytes as usize;
        if payload.len() != head_len + codes_len {
            return Err(Error::IndexPart {
                part: part.to_string(),
                problem: format!(
                    "{} bytes where a cell table of {head_len} and {codes_len} code bytes belong",
                    payload.len()
                ),
            });
        }
        self.integrate_codes_head(g, &payload[..head_len], part)?;
        let codes = &payload[head_len..];
        let loaded = self.codes[g as usize].as_mut().expect("integrated above");
        loaded.codes = codes.to_vec();
        loaded.cell_loaded.fill(true);
        loaded.whole = true;
        Ok(())
    }

    fn integrate_filters(&mut self, g: u32, bytes: &[u8], part: &str) -> Result<()> {
        if self.has(PartKey::Filters(g)) {
            return Ok(());
        }
        let payload = self
            .manifest
            .envelope(PartKind::Filters, g)
            .open(bytes, part)?;
        let filters: FiltersPart = decode_payload(payload, part)?;
        filters.validate(&self.manifest, g as usize, part)?;
        let generation = &self.manifest.generations[g as usize];
        let (first, tracks) = (generation.first_position, generation.tracks);
        let mut catalog = Postings::new();
        let mut predicted = Postings::new();
        for (lists, out) in [
            (&filters.catalog_tags, &mut catalog),
            (&filters.predicted_tags, &mut predicted),
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
        self.tempo[g as usize] = Some(filters.tempo);
        Ok(())
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
