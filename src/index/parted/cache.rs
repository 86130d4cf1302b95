//! The caches of fetched pieces: least recently used entries go when a task starts.

use std::cell::Cell;
use std::collections::HashMap;

/// A map that forgets its least recently used entries beyond `cap` when trimmed (reads mark
/// entries as used, through a `Cell`, so that they can stay `&self`).
#[derive(Debug)]
pub(super) struct Cache<K, V> {
    map: HashMap<K, (V, Cell<u64>)>,
    clock: Cell<u64>,
    cap: usize,
}

impl<K: std::hash::Hash + Eq + Copy, V> Cache<K, V> {
    pub(super) fn new(cap: usize) -> Self {
        Cache {
            map: HashMap::new(),
            clock: Cell::new(0),
            cap,
        }
    }

    pub(super) fn tick(&self) -> u64 {
        self.clock.set(self.clock.get() + 1);
        self.clock.get()
    }

    pub(super) fn insert(&mut self, key: K, value: V) {
        let now = self.tick();
        self.map.insert(key, (value, Cell::new(now)));
    }

    pub(super) fn get(&self, key: &K) -> Option<&V> {
        let (value, used) = self.map.get(key)?;
        used.set(self.tick());
        Some(value)
    }

    pub(super) fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values().map(|(v, _)| v)
    }

    pub(super) fn trim(&mut self) {
        if self.map.len() <= self.cap {
            return;
        }
        let mut stamps: Vec<u64> = self.map.values().map(|(_, u)| u.get()).collect();
        stamps.sort_unstable();
        let cutoff = stamps[self.map.len() - self.cap];
        self.map.retain(|_, (_, used)| used.get() >= cutoff);
    }
}
