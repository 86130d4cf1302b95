//! The protocol of the tasks that read a published index (a search, a browse, a lookup): each
//! step says what it still needs ([`Step::Need`]: pieces to fetch) or gives its answer, and
//! these helpers say what is missing, what failed before, and what that costs.

use std::collections::BTreeSet;

use super::{Fetch, PartKey, PartedIndex};
use crate::error::{Error, Result};

/// The outcome of one step.
#[derive(Debug)]
pub enum Step<T> {
    /// Fetch these pieces ([`PartedIndex::provide`] or [`PartedIndex::fail`] each), then step
    /// again.
    Need(Vec<Fetch>),
    /// The answer.
    Done(T),
}

/// What a task needs first: every generation's cell table (with its removals), with
/// `quantizer` the quantiser (a search of the codes), with `filters` every filters part; the
/// first that failed fails the task.
pub fn heads_needed(index: &PartedIndex, quantizer: bool, filters: bool) -> Result<Vec<Fetch>> {
    let gens = index.manifest().generations.len() as u32;
    let mut keys: Vec<PartKey> = quantizer
        .then_some(PartKey::Quantizer)
        .into_iter()
        .collect();
    keys.extend((0..gens).map(PartKey::CodesHead));
    if filters {
        keys.extend((0..gens).map(PartKey::Filters));
    }
    missing(index, keys.into_iter(), |_| false)
}

/// What is missing among `keys`: their fetches, skipping loaded ones. The problem of a key that
/// failed before is handed to `tolerate`: it notes the loss and returns true, or returns false to fail the
/// search with the part's own error.
pub fn missing(
    index: &PartedIndex,
    keys: impl Iterator<Item = PartKey>,
    mut tolerate: impl FnMut(&str) -> bool,
) -> Result<Vec<Fetch>> {
    missing_among(index, keys.collect(), &mut tolerate)
}

/// A `tolerate` for [`missing`] that notes the loss as "`what`: problem" and lets the search go
/// on without the piece.
pub fn noting<'a>(notes: &'a mut BTreeSet<String>, what: &'a str) -> impl FnMut(&str) -> bool + 'a {
    move |problem| {
        notes.insert(format!("{what}: {problem}"));
        true
    }
}

/// The body of [`missing`], one copy for every caller (the search module is downloaded first).
#[inline(never)]
fn missing_among(
    index: &PartedIndex,
    unique: BTreeSet<PartKey>,
    tolerate: &mut dyn FnMut(&str) -> bool,
) -> Result<Vec<Fetch>> {
    let mut out = Vec::new();
    for key in unique {
        if index.has(key) {
            continue;
        }
        if let Some(problem) = index.failure(key) {
            if !tolerate(problem) {
                return Err(Error::InvalidIndex(problem.to_string()));
            }
            continue;
        }
        out.extend(index.fetch_for(key));
    }
    Ok(out)
}

/// The metadata shards of `positions` not loaded yet; one that failed is noted (the rows go
/// without their details).
pub fn meta_needs(
    index: &PartedIndex,
    positions: &[u32],
    notes: &mut BTreeSet<String>,
) -> Result<Vec<Fetch>> {
    let keys: Vec<PartKey> = positions
        .iter()
        .filter_map(|&p| index.meta_key(p))
        .collect();
    missing(
        index,
        keys.into_iter(),
        noting(notes, "Some track details could not be fetched"),
    )
}

/// Runs a task to the end, fetching with `read` (e.g. from local files): the whole loop of
/// the browser's worker, for the CLI and tests.
pub fn run_to_end<T>(
    index: &mut PartedIndex,
    mut step: impl FnMut(&mut PartedIndex) -> Result<Step<T>>,
    mut read: impl FnMut(&Fetch) -> Result<Vec<u8>>,
) -> Result<T> {
    index.trim_caches();
    loop {
        match step(index)? {
            Step::Done(t) => return Ok(t),
            Step::Need(needs) => {
                if needs.is_empty() {
                    return Err(Error::InvalidIndex(
                        "a search step asked for nothing yet could not go on".into(),
                    ));
                }
                for f in needs {
                    let key = f.key;
                    match read(&f).and_then(|bytes| index.provide(key, &bytes)) {
                        Ok(()) => {}
                        Err(e) => index.fail(key, e.to_string()),
                    }
                }
            }
        }
    }
}
