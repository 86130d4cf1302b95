//! Browsing and looking up a published index: pages of the live tracks that pass a filter, and
//! tracks by id, in steps that say what to fetch (as a search does).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::error::Result;
use crate::index::TrackMeta;
use crate::index::parted::task::{Step, heads_needed, meta_needs, missing};
use crate::index::parted::{PartKey, PartedIndex};
use crate::search::TagFilter;
use crate::search::parted::eligible_mask;

/// A page of the catalog without a reference: the live tracks that pass a filter, in index
/// order, `limit` of them from `offset` on.
#[derive(Debug)]
pub struct BrowseTask {
    filter: TagFilter,
    offset: usize,
    limit: usize,
    /// The page and the total, once the cell tables (and filters) are in.
    page: Option<(Vec<u32>, usize)>,
    notes: BTreeSet<String>,
}

/// A finished browse.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowseOutcome {
    /// Live tracks that pass the filter, in all.
    pub total: usize,
    /// The page: `(position, metadata if its shard could be fetched)`.
    pub rows: Vec<BrowseRow>,
    /// What could not be fetched.
    pub notes: Vec<String>,
}

/// One row of a browse page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowseRow {
    /// Global position.
    pub position: u32,
    /// The track, if its shard could be fetched.
    pub track: Option<TrackMeta>,
}

/// The most rows one browse page lists (each row fetches its track's metadata): a larger
/// `limit` is cut to it.
pub const MAX_BROWSE_ROWS: usize = 1000;

impl BrowseTask {
    /// The page `offset..offset + limit` of the tracks passing `filter` (`limit` at most
    /// [`MAX_BROWSE_ROWS`]).
    pub fn new(filter: &TagFilter, offset: usize, limit: usize) -> Self {
        BrowseTask {
            filter: filter.clone(),
            offset,
            limit: limit.min(MAX_BROWSE_ROWS),
            page: None,
            notes: BTreeSet::new(),
        }
    }

    /// Advances: asks for the cell tables (removals) and the filters parts (tags, tempo),
    /// then metadata shards, then answers.
    pub fn step(&mut self, index: &mut PartedIndex) -> Result<Step<BrowseOutcome>> {
        let needs = heads_needed(index, false, !self.filter.is_empty())?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        let (positions, total) = self.page.get_or_insert_with(|| {
            let mask = eligible_mask(index, &self.filter, &[]);
            let eligible =
                (0..index.len() as u32).filter(|&p| mask[p as usize / 64] & (1 << (p % 64)) != 0);
            let total = mask.iter().map(|w| w.count_ones() as usize).sum();
            (eligible.skip(self.offset).take(self.limit).collect(), total)
        });
        let (positions, total) = (positions.clone(), *total);
        let needs = meta_needs(index, &positions, &mut self.notes)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        Ok(Step::Done(BrowseOutcome {
            total,
            rows: positions
                .iter()
                .map(|&p| BrowseRow {
                    position: p,
                    track: index.track(p).cloned(),
                })
                .collect(),
            notes: self.notes.iter().cloned().collect(),
        }))
    }
}

/// The metadata of catalog tracks by id (e.g. a reference to show while its search runs).
#[derive(Debug)]
pub struct LookupTask {
    ids: Vec<String>,
}

impl LookupTask {
    /// Looks up `ids`.
    pub fn new(ids: Vec<String>) -> Self {
        LookupTask { ids }
    }

    /// Advances: the cell tables (removals), id buckets, then metadata shards; answers one
    /// entry per id (`None`: no such live track). A piece that cannot be fetched fails the
    /// lookup with its name.
    pub fn step(&mut self, index: &mut PartedIndex) -> Result<Step<Vec<Option<BrowseRow>>>> {
        let needs = heads_needed(index, false, false)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        let keys: Vec<PartKey> = self.ids.iter().flat_map(|id| index.id_keys(id)).collect();
        let needs = missing(index, keys.into_iter(), |_| false)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        let positions: Vec<Option<u32>> = self
            .ids
            .iter()
            .map(|id| index.position_of(id))
            .collect::<Result<_>>()?;
        let keys = positions
            .iter()
            .flatten()
            .filter_map(|&p| index.meta_key(p));
        let needs = missing(index, keys, |_| false)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        Ok(Step::Done(
            positions
                .into_iter()
                .map(|p| {
                    p.map(|position| BrowseRow {
                        position,
                        track: index.track(position).cloned(),
                    })
                })
                .collect(),
        ))
    }
}
