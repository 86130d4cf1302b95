//! One row per song: a ranked list folded by version group (a song's cut-downs, loops and
//! re-encodings are one group, [`crate::index::versions`]), each row the group's best-ranked
//! version with the others it found beside it ("+N versions").

use serde::Serialize;

/// A version folded under a row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionHit {
    /// Track id (empty when its metadata could not be fetched).
    pub id: String,
    /// Position of the track in the index.
    pub position: usize,
    /// Cosine similarity between the query vector and the track, in [-1, 1].
    pub score: f32,
    /// Its title, where known.
    pub title: Option<String>,
    /// Its length, in seconds, where known.
    pub duration_seconds: Option<f32>,
}

/// A row of a folded ranking: its best entry (score, position) and the other versions found,
/// best first.
pub type FoldedRow = ((f32, u32), Vec<(f32, u32)>);

/// Ranked candidates needed for `k` rows once versions fold: a song rarely has more than a
/// handful of versions, and a shortlist of this many holds them.
pub fn candidates_for(k: usize) -> usize {
    (8 * k).max(200)
}

/// Folds `ranked` (score, position), best first, into at most `k` rows, one per version group
/// (`group_of` a position): each row is its group's best entry, with the group's other entries
/// found anywhere in `ranked`, best first.
pub fn fold_versions(
    ranked: &[(f32, u32)],
    group_of: &dyn Fn(u32) -> u32,
    k: usize,
) -> Vec<FoldedRow> {
    let mut rows: Vec<FoldedRow> = Vec::with_capacity(k);
    // (group, row), sorted by group: a search of it per entry. (A hash map here cost the
    // search module, which every page loads, 1.5 kB of gzip.)
    let mut row_of: Vec<(u32, usize)> = Vec::with_capacity(k);
    for &(score, p) in ranked {
        let g = group_of(p);
        match row_of.binary_search_by_key(&g, |&(group, _)| group) {
            Ok(at) => rows[row_of[at].1].1.push((score, p)),
            Err(at) if rows.len() < k => {
                row_of.insert(at, (g, rows.len()));
                rows.push(((score, p), Vec::new()));
            }
            Err(_) => {}
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_fold_under_the_best_of_their_group() {
        // Positions 1, 4 and 6 are one song; 2 and 5 another.
        let group = |p: u32| match p {
            4 | 6 => 1,
            5 => 2,
            _ => p,
        };
        let ranked = [
            (0.9, 4),
            (0.8, 2),
            (0.7, 1),
            (0.6, 3),
            (0.5, 5),
            (0.4, 7),
            (0.3, 6),
        ];
        let rows = fold_versions(&ranked, &group, 3);
        assert_eq!(
            rows,
            vec![
                ((0.9, 4), vec![(0.7, 1), (0.3, 6)]),
                ((0.8, 2), vec![(0.5, 5)]),
                ((0.6, 3), vec![]),
            ]
        );
        // Every track its own group: the ranking as it was.
        let rows = fold_versions(&ranked, &|p| p, 10);
        assert_eq!(rows.len(), 7);
        assert!(
            rows.iter()
                .zip(&ranked)
                .all(|(r, x)| r.0 == *x && r.1.is_empty())
        );
    }
}
