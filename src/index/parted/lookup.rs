//! Reading a published index by position and by id, from what has been fetched.

use std::collections::BTreeMap;

use super::{LoadedCodes, PartKey, PartedIndex};
use crate::error::{Error, Result};
use crate::index::parts::manifest::rerank_row_bytes;
use crate::index::parts::neighbours::{NeighbourList, TrackLocator};
use crate::index::parts::rerank;
use crate::index::{Postings, TrackMeta};

impl PartedIndex {
    /// `(generation, local position)` of a global position.
    pub fn locate(&self, position: u32) -> Option<(u32, u32)> {
        let gens = &self.manifest.generations;
        let i = gens.partition_point(|g| g.first_position + g.tracks <= position);
        let g = gens.get(i)?;
        (position >= g.first_position).then(|| (g.generation, position - g.first_position))
    }

    /// The clear predicted tempo of the track at a global position, in whole BPM, from its
    /// generation's filters part (`None` when unclear or that part is not loaded).
    pub fn tempo_bpm(&self, position: u32) -> Option<f32> {
        let (g, local) = self.locate(position)?;
        let tempo = self.tempo[g as usize].as_ref()?;
        crate::tempo::code::decode(*tempo.get(local as usize)?)
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

    /// Generation `g`'s codes as far as fetched (`None` before its cell table).
    pub(crate) fn codes_state(&self, g: usize) -> Option<&LoadedCodes> {
        self.codes.get(g).and_then(Option::as_ref)
    }

    /// The cell key holding the code of the track at a global position (`None` before its
    /// generation's cell table is in).
    pub fn cell_key(&self, position: u32) -> Option<PartKey> {
        let (g, local) = self.locate(position)?;
        let head = &self.codes_state(g as usize)?.head;
        let c = head.cell_start.partition_point(|&s| s <= local) - 1;
        Some(PartKey::Cell(g, c as u32))
    }

    /// The compact code of the track at a global position, if its cell is loaded.
    pub fn code(&self, position: u32) -> Option<&[u8]> {
        let key = self.cell_key(position)?;
        if !self.has(key) {
            return None;
        }
        let (g, local) = self.locate(position)?;
        let m = self.manifest.layout.code_bytes as usize;
        let codes = &self.codes_state(g as usize)?.codes;
        Some(&codes[local as usize * m..(local as usize + 1) * m])
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

    /// Where the track at a global position keeps its metadata, from its re-ranking row or a
    /// neighbour list fetched that lists it.
    pub(super) fn locator(&self, position: u32) -> Option<TrackLocator> {
        if let Some(hit) = self.hit_locator(position) {
            return Some(hit.meta);
        }
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
        Some(rerank::split_row(self.rerank_bytes(position)?, self.dim()))
    }

    /// Where the details of the track at a global position are, from its re-ranking row (if
    /// its block is loaded).
    pub fn hit_locator(&self, position: u32) -> Option<rerank::HitLocator> {
        Some(rerank::row_locator(
            self.rerank_bytes(position)?,
            self.dim(),
        ))
    }

    /// The stored re-ranking row of a global position, if its block is loaded.
    fn rerank_bytes(&self, position: u32) -> Option<&[u8]> {
        let (g, local) = self.locate(position)?;
        let rows = self.manifest.layout.rerank_block_rows;
        let block = self.rerank.get(&(g, local / rows))?;
        let width = rerank_row_bytes(self.dim());
        let at = (local % rows) as usize * width;
        Some(&block[at..at + width])
    }

    /// The segment rows of the track at a global position, `(first row, count, checksum)`,
    /// from its metadata shard or its re-ranking row, whichever is loaded.
    pub(super) fn segment_rows(&self, position: u32) -> Option<(u64, u64, u32)> {
        let (g, local) = self.locate(position)?;
        let size = self.manifest.layout.meta_shard_tracks;
        let i = (local % size) as usize;
        if let Some(shard) = self.meta.get(&(g, local / size)) {
            let (first, count) = shard.segment_rows(i);
            return Some((first, count, shard.segment_checksums[i]));
        }
        let hit = self.hit_locator(position)?;
        Some((
            u64::from(hit.segment_first_row),
            u64::from(hit.segment_count),
            hit.segment_checksum,
        ))
    }

    /// What fetches the metadata of a search hit: its record alone when its re-ranking row
    /// says where it is, else its metadata shard ([`Self::meta_key`]).
    pub fn hit_meta_key(&self, position: u32) -> Option<PartKey> {
        if self.hit_locator(position).is_some() {
            return Some(PartKey::Record(position));
        }
        self.meta_key(position)
    }

    /// The embedding the re-ranking row of a global position stands for, unit length: its
    /// cell's centroid plus the row's int8 residual (`None` until its block, the
    /// quantiser and its generation's cell table are in).
    pub fn rerank_vector(&self, position: u32) -> Option<Vec<f32>> {
        let (scale, codes) = self.rerank_row(position)?;
        let PartKey::Cell(_, cell) = self.cell_key(position)? else {
            unreachable!("cell_key gives a cell")
        };
        let centroid = self.quantizer.as_ref()?.centroid(cell as usize);
        Some(rerank::dequantize(centroid, scale, codes))
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
            .codes
            .iter()
            .flatten()
            .map(|g| g.codes.len() + 4 * g.head.cell_start.len())
            .sum::<usize>()
            + self.tempo.iter().flatten().map(Vec::len).sum::<usize>();
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
