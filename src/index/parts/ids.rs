//! Id shards: track id → local position, for searches by catalog track. An id lives in shard
//! `xxh3_64(id) % shards` of its generation, so a lookup fetches one small shard per
//! generation, and ids cost nothing in the search part however long the store's ids are.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One shard's payload: `(id, local position)`, sorted by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdShard {
    /// Entries sorted by id, ids unique.
    pub entries: Vec<(String, u32)>,
}

/// The shard (of `shards`) that holds `id`.
pub fn shard_of(id: &str, shards: usize) -> usize {
    (xxhash_rust::xxh3::xxh3_64(id.as_bytes()) % shards.max(1) as u64) as usize
}

impl IdShard {
    /// Checks the shard is sorted, within `tracks`, and really shard `shard` of `shards`.
    pub fn validate(&self, shard: usize, shards: usize, tracks: u32, part: &str) -> Result<()> {
        let bad = |problem: &str| {
            Err(Error::IndexPart {
                part: part.to_string(),
                problem: problem.to_string(),
            })
        };
        if self.entries.windows(2).any(|w| w[0].0 >= w[1].0) {
            return bad("its ids are not sorted and unique");
        }
        if self.entries.iter().any(|(_, p)| *p >= tracks) {
            return bad("it points past the generation's tracks");
        }
        if self
            .entries
            .iter()
            .any(|(id, _)| shard_of(id, shards) != shard)
        {
            return bad("it holds ids of another shard");
        }
        Ok(())
    }

    /// The local position of `id`, if this shard holds it.
    pub fn position(&self, id: &str) -> Option<u32> {
        self.entries
            .binary_search_by(|(e, _)| e.as_str().cmp(id))
            .ok()
            .map(|i| self.entries[i].1)
    }
}
