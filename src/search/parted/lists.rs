//! Stage 0 of a search on a published index: "Similar" on one catalog track answered from its
//! neighbour list, computed at publication.

use super::{SearchOutcome, SearchTask, Step, missing, noting, parted_hit};
use crate::error::{Error, Result};
use crate::index::parted::{PartKey, PartedIndex};
use crate::index::parts::neighbours::Neighbour;
use crate::search::Reference;

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
        let entries: Vec<Neighbour> = list.entries.iter().skip(skip).take(r.k).copied().collect();
        let listed = list.entries.len();
        // The reference's details and the hits' (their closest segments are in the list).
        let keys = std::iter::once(reference)
            .chain(entries.iter().map(|e| e.position))
            .map(PartKey::Record);
        let needs = missing(
            index,
            keys,
            noting(&mut self.notes, "Some track details could not be fetched"),
        )?;
        if !needs.is_empty() {
            return Ok(Some(Step::Need(needs)));
        }
        let hits = entries
            .iter()
            .map(|e| parted_hit(index, e.score, e.position, e.best_segment))
            .collect();
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
