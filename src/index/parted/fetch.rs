//! What to fetch for a [`PartKey`]: which file, which byte range.

use super::{Fetch, PartKey, PartedIndex};
use crate::index::parts::manifest::PartFile;
use crate::index::parts::meta::table_range;
use crate::index::parts::neighbours::record_bytes;
use crate::index::parts::{ENVELOPE_LEN, PartKind, codes, rerank, segments};

impl PartedIndex {
    /// The fetch for `key`. Keys that need data not loaded yet (segments before their
    /// metadata shard) give `None`.
    pub fn fetch_for(&self, key: PartKey) -> Option<Fetch> {
        if !self.key_exists(key) {
            return None;
        }
        if let PartKey::Segments(p) = key {
            let (first, count, _) = self.segment_rows(p)?;
            let (g, _) = self.locate(p)?;
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
        if let PartKey::Cell(g, c) = key {
            let loaded = self.codes.get(g as usize)?.as_ref()?;
            let (offset, length) = loaded
                .head
                .cell_range(c as usize, self.manifest.layout.code_bytes);
            let part = &self.manifest.generations[g as usize].codes;
            return Some(self.fetch_range(key, part, PartKind::Codes, offset, length));
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
    pub(super) fn key_exists(&self, key: PartKey) -> bool {
        let gens = &self.manifest.generations;
        let generation = |g: u32| gens.get(g as usize);
        match key {
            PartKey::Quantizer => true,
            PartKey::CodesHead(g) | PartKey::Codes(g) | PartKey::Filters(g) => {
                generation(g).is_some()
            }
            PartKey::Cell(g, c) => generation(g).is_some() && c < self.manifest.layout.centroids,
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

    pub(super) fn fetch(&self, key: PartKey) -> Fetch {
        let gens = &self.manifest.generations;
        let dim = self.dim();
        let whole = |part: &PartFile, kind| Fetch {
            key,
            file: part.file_name(kind),
            offset: 0,
            length: part.bytes,
            part_bytes: part.bytes,
            whole: true,
        };
        match key {
            PartKey::Quantizer => whole(&self.manifest.quantizer, PartKind::Quantizer),
            PartKey::Codes(g) => whole(&gens[g as usize].codes, PartKind::Codes),
            PartKey::Filters(g) => whole(&gens[g as usize].filters, PartKind::Filters),
            PartKey::CodesHead(g) => {
                let x = &gens[g as usize];
                let length = codes::head_bytes(self.manifest.layout.centroids, x.removed);
                self.fetch_range(key, &x.codes, PartKind::Codes, ENVELOPE_LEN as u64, length)
            }
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
            // Segments, records, shards and cells are fetched through fetch_for. (No message:
            // every byte of the search module is on a page's first load.)
            PartKey::Segments(_) | PartKey::Record(_) | PartKey::Meta(..) | PartKey::Cell(..) => {
                unreachable!()
            }
        }
    }

    pub(super) fn fetch_range(
        &self,
        key: PartKey,
        part: &PartFile,
        kind: PartKind,
        offset: u64,
        length: u64,
    ) -> Fetch {
        Fetch {
            key,
            file: part.file_name(kind),
            offset,
            length,
            part_bytes: part.bytes,
            whole: false,
        }
    }
}
