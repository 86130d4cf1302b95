//! Every track's audio fingerprint in its stored form ([`crate::versions::codec`]), for the
//! version audit and `simsong check`: what tells a cut-down, a loop or a re-encoding of a
//! track from a track that merely sounds like it. Only the one-file index carries them (about
//! 10 kB per 3 minutes of audio); a page never fetches them.
//!
//! The table holds bytes, not decoded fingerprints, so the search engine (built without the
//! analysis code) reads and writes indexes without knowing the fingerprint's layout.

use serde::{Deserialize, Serialize};

/// Stored fingerprints, one slot per track (empty for a track imported without audio).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FingerprintTable {
    /// `offsets[t]..offsets[t + 1]` are track `t`'s bytes; `tracks + 1` entries.
    offsets: Vec<u64>,
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
}

impl Default for FingerprintTable {
    fn default() -> Self {
        FingerprintTable {
            offsets: vec![0],
            bytes: Vec::new(),
        }
    }
}

impl FingerprintTable {
    /// A table of `tracks` slots, none holding a fingerprint.
    pub fn empty(tracks: usize) -> Self {
        FingerprintTable {
            offsets: vec![0; tracks + 1],
            bytes: Vec::new(),
        }
    }

    /// Track `t`'s stored fingerprint; `None` when it has none.
    pub fn get(&self, t: usize) -> Option<&[u8]> {
        let (start, end) = (*self.offsets.get(t)?, *self.offsets.get(t + 1)?);
        (end > start).then(|| &self.bytes[start as usize..end as usize])
    }

    /// Tracks that have a fingerprint.
    pub fn count(&self) -> usize {
        self.offsets.windows(2).filter(|w| w[1] > w[0]).count()
    }

    /// Bytes of all fingerprints.
    pub fn total_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Appends the next track's fingerprint (`None`: it has none).
    pub fn push(&mut self, stored: Option<&[u8]>) {
        self.bytes.extend_from_slice(stored.unwrap_or_default());
        self.offsets.push(self.bytes.len() as u64);
    }

    /// Replaces the last track's fingerprint.
    pub fn set_last(&mut self, stored: Option<&[u8]>) {
        let n = self.offsets.len();
        if n < 2 {
            return;
        }
        self.bytes.truncate(self.offsets[n - 2] as usize);
        self.bytes.extend_from_slice(stored.unwrap_or_default());
        self.offsets[n - 1] = self.bytes.len() as u64;
    }

    /// Keeps the tracks whose `keep` is true.
    pub fn retain(&mut self, keep: &[bool]) {
        let mut kept = FingerprintTable::default();
        for (t, &k) in keep.iter().enumerate() {
            if k {
                kept.push(self.get(t));
            }
        }
        *self = kept;
    }

    /// Checks the table against `tracks` tracks (after loading untrusted bytes). Each
    /// fingerprint's own bytes are checked when it is decoded.
    pub fn validate(&self, tracks: usize) -> Result<(), String> {
        if self.offsets.len() != tracks + 1 {
            return Err(format!(
                "{} fingerprint slots for {tracks} tracks",
                self.offsets.len().saturating_sub(1)
            ));
        }
        let monotone = self.offsets.windows(2).all(|w| w[0] <= w[1]);
        if self.offsets[0] != 0
            || !monotone
            || *self.offsets.last().unwrap() != self.bytes.len() as u64
        {
            return Err("fingerprint offsets are inconsistent".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_tracks() {
        let mut table = FingerprintTable::default();
        table.push(Some(b"abc"));
        table.push(None);
        table.push(Some(b"de"));
        assert_eq!(table.get(0), Some(&b"abc"[..]));
        assert_eq!(table.get(1), None);
        assert_eq!(table.get(2), Some(&b"de"[..]));
        assert_eq!(table.get(3), None);
        assert_eq!((table.count(), table.total_bytes()), (2, 5));
        table.validate(3).unwrap();
        assert!(table.validate(2).is_err());
        table.retain(&[false, true, true]);
        assert_eq!((table.get(0), table.get(1)), (None, Some(&b"de"[..])));
        table.validate(2).unwrap();
    }
}
