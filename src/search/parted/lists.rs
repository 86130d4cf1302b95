//! Stage 0 of a search on a published index: "Similar" on one catalog track answered from its
//! neighbour list, computed at publication.

use super::{SearchOutcome, SearchTask, Step, missing, noting, parted_hit};
use crate::error::{Error, Result};
use crate::index::parted::{PartKey, PartedIndex};
use crate::search::Reference;
use crate::search::versions::{FoldedRow, fold_versions};

impl SearchTask {
    /// Stage 0, "Similar" on one catalog track: the answer from the track's neighbour list
    /// (computed at publication with the scores a re-ranked search gives), with the hits'
    /// details fetched by range where the list locates them. `None` when the lists cannot
    /// answer this request exactly (no lists, several references, a filter, exclusions, more
    /// hits than listed) or the list could not be fetched: the stages above answer it.
    pub(super) fn answer_from_neighbours(
        &mut self,
        index: &mut PartedIndex,
    ) -> Result<Option<Step<SearchOutcome>>> {
        let r = &self.request;
        let Some(nb) = index.manifest().usable_neighbours() else {
            return Ok(None);
        };
        let listed = nb.k as usize + usize::from(!r.exclude_references);
        let id = match r.positive.as_slice() {
            [Reference::Track(id)]
                if r.negative.is_empty()
                    && r.filter.is_empty()
                    && r.exclude.is_empty()
                    && r.k <= listed =>
            {
                id.clone()
            }
            _ => return Ok(None),
        };
        let needs = missing(index, index.id_keys(&id).into_iter(), |_| false)?;
        if !needs.is_empty() {
            return Ok(Some(Step::Need(needs)));
        }
        let positions = index.positions_of(&id)?;
        if positions.is_empty() {
            return Err(Error::UnknownTrack(id));
        }
        let mut list_failed = None;
        let keys = positions.iter().map(|&p| PartKey::Neighbours(p));
        let needs = missing(index, keys, |problem| {
            list_failed = Some(problem.to_string());
            true
        })?;
        if let Some(problem) = list_failed {
            self.notes.insert(format!(
                "The track's neighbour list could not be fetched (the codes answered instead): {problem}"
            ));
            return Ok(None);
        }
        if !needs.is_empty() {
            return Ok(Some(Step::Need(needs)));
        }
        let Some((reference, list)) = positions.iter().rev().find_map(|&p| {
            index
                .neighbour_list(p)
                .filter(|l| !l.removed)
                .map(|l| (p, l))
        }) else {
            return Err(Error::UnknownTrack(id));
        };
        let skip = usize::from(r.exclude_references);
        let listed = list.entries.len();
        let entries = &list.entries[skip.min(list.entries.len())..];
        let entry = |p: u32| entries.iter().find(|e| e.position == p);
        // (Plain loops rather than iterator chains here and below: each chain of a new type is
        // more code in the search module every page loads.)
        let mut scored: Vec<(f32, u32)> = Vec::with_capacity(entries.len());
        for e in entries {
            scored.push((e.score, e.position));
        }
        // Rows: one per version group when the request groups them (every entry names its
        // group), else the first k entries.
        let rows: Vec<FoldedRow> = if r.group_versions {
            fold_versions(&scored, &|p| entry(p).map_or(p, |e| e.version_group), r.k)
        } else {
            scored.truncate(r.k);
            let mut rows = Vec::with_capacity(scored.len());
            for s in scored {
                rows.push((s, Vec::new()));
            }
            rows
        };
        // The reference's details and the hits' (their closest segments are in the list), and
        // the versions' folded under them.
        let mut keys = vec![PartKey::Record(reference)];
        for ((_, p), versions) in &rows {
            keys.push(PartKey::Record(*p));
            for &(_, v) in versions {
                keys.push(PartKey::Record(v));
            }
        }
        let needs = missing(
            index,
            keys.into_iter(),
            noting(&mut self.notes, "Some track details could not be fetched"),
        )?;
        if !needs.is_empty() {
            return Ok(Some(Step::Need(needs)));
        }
        let mut hits = Vec::with_capacity(rows.len());
        for ((score, p), versions) in &rows {
            let best = entry(*p).and_then(|e| e.best_segment);
            hits.push(parted_hit(index, *score, *p, best, versions));
        }
        Ok(Some(Step::Done(SearchOutcome {
            hits,
            approximate: false,
            notes: self.notes.iter().cloned().collect(),
            reranked: listed,
            reference_track: index.track(reference).cloned(),
            from_neighbours: true,
        })))
    }
}
