//! Which tracks are versions of which: the links the version audit found or the store declared
//! (`version_of`), and the groups they make ("one row per song").
//!
//! A link joins the shorter track (`part`, the one whose audio is found in the other) to the
//! longer (`whole`), with where and how it lines up. Groups are the connected components of the
//! links; a group is named by its smallest position, so every build of the same catalog, on one
//! machine or from shards, names it the same. The audit itself (fingerprints → links) is
//! [`crate::versions::audit`]; this module only stores and joins.

use serde::{Deserialize, Serialize};

/// Where a link comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkSource {
    /// Found by the audit, not declared.
    Detected,
    /// Declared by the store (`version_of`), not confirmed by the audit (a data-quality hint
    /// when both tracks have fingerprints).
    Declared,
    /// Declared and confirmed.
    Both,
}

impl LinkSource {
    /// Its name in the CLI's output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            LinkSource::Detected => "detected",
            LinkSource::Declared => "declared",
            LinkSource::Both => "both",
        }
    }
}

/// One version relation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VersionLink {
    /// Position of the track found in the other (the shorter one).
    pub part: u32,
    /// Position of the track it is found in.
    pub whole: u32,
    /// Where the link comes from.
    pub source: LinkSource,
    /// How sure: the audit's score (coverage × peak share, [`crate::versions::Comparison`]),
    /// 0 for a declared link the audit did not confirm.
    pub score: f32,
    /// Mean cosine of the aligned segment embeddings (NaN where none lined up).
    pub timbre: f32,
    /// Tempo of the whole relative to the part (1.02: the whole is 2% faster).
    pub tempo_ratio: f32,
    /// Pitch of the whole relative to the part, in semitones.
    pub pitch_semitones: f32,
    /// The part's span that lines up, in seconds of the part.
    pub part_span: (f32, f32),
    /// Where it lies in the whole, in seconds of the whole (the best-aligned stretch; a loop
    /// lines up several times).
    pub whole_span: (f32, f32),
}

/// Detected links needed between two groups of several tracks each for them to merge (see
/// [`VersionTable::groups`]).
pub const MERGE_LINKS: usize = 2;

/// Union-find over positions; a set is named by its smallest position.
struct Forest {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl Forest {
    fn new(n: usize) -> Self {
        Forest {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn root(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let up = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = up;
            x = up;
        }
        x
    }

    fn size(&self, root: u32) -> u32 {
        self.size[root as usize]
    }

    /// Joins two roots; the smaller position names the set.
    fn join(&mut self, a: u32, b: u32) {
        let (keep, join) = if a < b { (a, b) } else { (b, a) };
        self.parent[join as usize] = keep;
        self.size[keep as usize] += self.size[join as usize];
    }
}

/// Every link of an index, sorted by `(part, whole)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionTable {
    /// The links, sorted, at most one per pair of tracks.
    pub links: Vec<VersionLink>,
    /// Positions below this were audited against each other (a later `add` audits the tracks
    /// from here on against all).
    pub audited: u32,
    /// What the store declared, `(track position, id it is a version of)`, in position order:
    /// kept as given (the id may be in another shard until the shards are merged) and turned
    /// into links by every audit.
    pub declared: Vec<(u32, String)>,
}

impl VersionTable {
    /// Each position's group: the smallest position of the tracks its links join it to (itself
    /// when it has no versions). `tracks` positions.
    ///
    /// Against chaining (one false link would merge two songs' groups, every version of each
    /// then a "version" of the other): a detected link joins a track to a group, but two groups
    /// of several tracks each merge only on [`MERGE_LINKS`] links between them, or on one the
    /// store declared. Links are taken strongest first; passes repeat until nothing merges, so
    /// the groups do not depend on the order links were found in.
    pub fn groups(&self, tracks: usize) -> Vec<u32> {
        let mut forest = Forest::new(tracks);
        let mut order: Vec<&VersionLink> = self
            .links
            .iter()
            .filter(|l| (l.part as usize) < tracks && (l.whole as usize) < tracks)
            .collect();
        order.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then((a.part, a.whole).cmp(&(b.part, b.whole)))
        });
        loop {
            let mut merged = false;
            let mut across: std::collections::HashMap<(u32, u32), usize> =
                std::collections::HashMap::new();
            for link in &order {
                let (ra, rb) = (forest.root(link.part), forest.root(link.whole));
                if ra == rb {
                    continue;
                }
                let small = forest.size(ra) == 1 || forest.size(rb) == 1;
                let count = across.entry((ra.min(rb), ra.max(rb))).or_insert(0);
                *count += 1;
                if small || link.source != LinkSource::Detected || *count >= MERGE_LINKS {
                    forest.join(ra, rb);
                    merged = true;
                }
            }
            if !merged {
                break;
            }
        }
        (0..tracks as u32).map(|t| forest.root(t)).collect()
    }

    /// Replaces the links and sorts them; of several links between the same two tracks (either
    /// way round) the first given is kept.
    pub fn set_links(&mut self, links: Vec<VersionLink>) {
        let mut seen = std::collections::HashSet::new();
        let mut links: Vec<VersionLink> = links
            .into_iter()
            .filter(|l| seen.insert((l.part.min(l.whole), l.part.max(l.whole))))
            .collect();
        links.sort_by_key(|l| (l.part, l.whole));
        self.links = links;
    }

    /// Appends another index's links, its positions shifted by `offset` (the tracks before
    /// them).
    pub fn append(&mut self, other: &VersionTable, offset: u32) {
        self.declared.extend(
            other
                .declared
                .iter()
                .map(|(t, id)| (t + offset, id.clone())),
        );
        let mut links = std::mem::take(&mut self.links);
        links.extend(other.links.iter().map(|l| VersionLink {
            part: l.part + offset,
            whole: l.whole + offset,
            ..*l
        }));
        self.set_links(links);
    }

    /// After removing tracks: drops their links and renumbers the rest (`keep[t]`: track `t`
    /// stays).
    pub fn retain(&mut self, keep: &[bool]) {
        let mut new_position = Vec::with_capacity(keep.len());
        let mut next = 0u32;
        for &k in keep {
            new_position.push(next);
            next += u32::from(k);
        }
        let kept = |p: u32| keep.get(p as usize).copied().unwrap_or(false);
        let audited_kept = keep[..(self.audited as usize).min(keep.len())]
            .iter()
            .filter(|k| **k)
            .count();
        let links = self
            .links
            .iter()
            .filter(|l| kept(l.part) && kept(l.whole))
            .map(|l| VersionLink {
                part: new_position[l.part as usize],
                whole: new_position[l.whole as usize],
                ..*l
            })
            .collect();
        self.set_links(links);
        self.audited = audited_kept as u32;
        self.declared = std::mem::take(&mut self.declared)
            .into_iter()
            .filter(|(t, _)| kept(*t))
            .map(|(t, id)| (new_position[t as usize], id))
            .collect();
    }

    /// Checks positions against `tracks` tracks (after loading untrusted bytes).
    pub fn validate(&self, tracks: usize) -> Result<(), String> {
        if self.audited as usize > tracks {
            return Err(format!(
                "the version audit covers {} tracks of {tracks}",
                self.audited
            ));
        }
        for l in &self.links {
            if l.part as usize >= tracks || l.whole as usize >= tracks || l.part == l.whole {
                return Err(format!(
                    "a version link joins positions {} and {} of {tracks} tracks",
                    l.part, l.whole
                ));
            }
        }
        if self.declared.iter().any(|(t, _)| *t as usize >= tracks) {
            return Err("a declared version names a track past the index".into());
        }
        if self
            .links
            .windows(2)
            .any(|w| (w[0].part, w[0].whole) >= (w[1].part, w[1].whole))
        {
            return Err("version links are not sorted".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(part: u32, whole: u32) -> VersionLink {
        VersionLink {
            part,
            whole,
            source: LinkSource::Detected,
            score: 0.5,
            timbre: 0.95,
            tempo_ratio: 1.0,
            pitch_semitones: 0.0,
            part_span: (0.0, 30.0),
            whole_span: (10.0, 40.0),
        }
    }

    #[test]
    fn groups_are_named_by_their_smallest_position() {
        let mut table = VersionTable::default();
        table.set_links(vec![link(5, 3), link(4, 5), link(1, 2), link(5, 4)]);
        assert_eq!(table.links.len(), 3, "one link per pair");
        assert_eq!(table.groups(7), vec![0, 1, 1, 3, 3, 3, 6]);
        table.validate(7).unwrap();
        assert!(table.validate(5).is_err());
    }

    #[test]
    fn one_link_does_not_merge_two_songs() {
        // Songs {0, 1, 2} and {3, 4, 5}; one weak link 2–3 between them.
        let mut weak = link(2, 3);
        weak.score = 0.07;
        let mut table = VersionTable::default();
        table.set_links(vec![link(0, 1), link(1, 2), link(3, 4), link(4, 5), weak]);
        assert_eq!(table.groups(6), vec![0, 0, 0, 3, 3, 3]);
        // A second link between them, or the store's word, merges them.
        let mut both = table.clone();
        both.set_links([both.links.clone(), vec![link(1, 4)]].concat());
        assert_eq!(both.groups(6), vec![0; 6]);
        let mut declared = table.clone();
        let mut said = link(0, 5);
        said.source = LinkSource::Declared;
        declared.set_links([declared.links.clone(), vec![said]].concat());
        assert_eq!(declared.groups(6), vec![0; 6]);
        // A lone track joins a group on one link.
        let mut lone = VersionTable::default();
        lone.set_links(vec![link(0, 1), link(1, 2), link(2, 3)]);
        assert_eq!(lone.groups(4), vec![0; 4]);
    }

    #[test]
    fn removing_tracks_renumbers_links() {
        let mut table = VersionTable {
            audited: 6,
            ..Default::default()
        };
        table.set_links(vec![link(5, 3), link(4, 5), link(1, 2)]);
        // Track 2 goes: its link goes with it; 3, 4, 5 become 2, 3, 4.
        table.retain(&[true, true, false, true, true, true]);
        assert_eq!(
            table
                .links
                .iter()
                .map(|l| (l.part, l.whole))
                .collect::<Vec<_>>(),
            vec![(3, 4), (4, 2)]
        );
        assert_eq!(table.audited, 5);
        assert_eq!(table.groups(5), vec![0, 1, 2, 2, 2]);
    }
}
