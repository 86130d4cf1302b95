//! Stage 1 of a search on a published index: the references (catalog tracks by id, their
//! re-ranking rows; embeddings) combined into the query vector, and the excluded positions.

use super::{Query, SearchTask, Step, missing, noting, track_vector};
use crate::error::{Error, Result};
use crate::index::parted::{PartKey, PartedIndex};
use crate::search::{Reference, query_vector, reference_embedding};

impl SearchTask {
    /// Stage 1: the query vector and the excluded positions.
    pub(super) fn resolve(&mut self, index: &mut PartedIndex) -> Result<Step<Query>> {
        let r = &self.request;
        let track_ids = r
            .positive
            .iter()
            .chain(&r.negative)
            .filter_map(|x| match x {
                Reference::Track(id) => Some(id.as_str()),
                Reference::Embedding(_) => None,
            })
            .chain(r.exclude.iter().map(String::as_str));
        let id_keys: Vec<PartKey> = track_ids.flat_map(|id| index.id_keys(id)).collect();
        let needs = missing(index, id_keys.into_iter(), |_| false)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        let mut reference_positions = Vec::new();
        for x in r.positive.iter().chain(&r.negative) {
            if let Reference::Track(id) = x {
                let p = index
                    .position_of(id)?
                    .ok_or_else(|| Error::UnknownTrack(id.clone()))?;
                reference_positions.push(p);
            }
        }
        let keys = reference_positions
            .iter()
            .filter_map(|&p| index.rerank_key(p));
        let needs = missing(
            index,
            keys,
            noting(
                &mut self.notes,
                "The reference's exact embedding could not be fetched (its compact code stands in)",
            ),
        )?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        // Where a row could not be fetched, the code of its cell stands in.
        let keys = reference_positions
            .iter()
            .filter(|&&p| index.rerank_row(p).is_none())
            .filter_map(|&p| index.cell_key(p));
        let needs = missing(index, keys, |_| false)?;
        if !needs.is_empty() {
            return Ok(Step::Need(needs));
        }
        let dim = index.dim();
        let mut positions = reference_positions.into_iter();
        let mut mean = |refs: &[Reference]| -> Result<Vec<f32>> {
            let mut sum = vec![0.0f32; dim];
            for x in refs {
                let v = match x {
                    Reference::Track(_) => {
                        track_vector(index, positions.next().expect("one per track reference"))
                    }
                    Reference::Embedding(e) => reference_embedding(e, dim)?,
                };
                sum.iter_mut().zip(&v).for_each(|(s, x)| *s += x);
            }
            sum.iter_mut().for_each(|s| *s /= refs.len() as f32);
            Ok(sum)
        };
        let positive = mean(&r.positive)?;
        let negative = if r.negative.is_empty() {
            None
        } else {
            Some(mean(&r.negative)?)
        };
        let vector = query_vector(positive, negative.as_deref())?;
        let mut excluded: Vec<u32> = r
            .exclude
            .iter()
            .filter_map(|id| index.position_of(id).ok().flatten())
            .collect();
        if r.exclude_references {
            for x in r.positive.iter().chain(&r.negative) {
                if let Reference::Track(id) = x {
                    excluded.extend(index.position_of(id)?);
                }
            }
        }
        Ok(Step::Done(Query { vector, excluded }))
    }
}
