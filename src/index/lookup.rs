//! Lookups of a [`CatalogIndex`] by id and by tag: the maps rebuilt whenever its tracks change,
//! so that filters are set operations instead of a tag lookup per track.

use std::collections::BTreeMap;

use super::{CatalogIndex, Postings, Tags};

impl CatalogIndex {
    /// Every tag value per category, with the number of tracks carrying it; `predicted`
    /// selects the model's tags instead of the catalog's.
    pub fn tag_counts(&self, predicted: bool) -> BTreeMap<String, BTreeMap<String, usize>> {
        let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for track in &self.tracks {
            let tags = if predicted {
                &track.predicted
            } else {
                &track.tags
            };
            for (category, values) in tags {
                let per = counts.entry(category.clone()).or_default();
                for v in values {
                    *per.entry(v.clone()).or_default() += 1;
                }
            }
        }
        counts
    }

    /// Track positions per tag value; `predicted` selects the model's tags.
    pub fn postings(&self, predicted: bool) -> &Postings {
        if predicted {
            &self.predicted_postings
        } else {
            &self.catalog_postings
        }
    }

    pub(super) fn rebuild_lookup(&mut self) {
        self.by_id = self
            .tracks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        self.catalog_postings.clear();
        self.predicted_postings.clear();
        for (i, t) in self.tracks.iter().enumerate() {
            add_postings(&mut self.catalog_postings, &t.tags, i as u32);
            add_postings(&mut self.predicted_postings, &t.predicted, i as u32);
        }
    }
}

pub(super) fn add_postings(postings: &mut Postings, tags: &Tags, position: u32) {
    for (category, values) in tags {
        let per_value = postings.entry(category.clone()).or_default();
        for v in values {
            let list = per_value.entry(v.clone()).or_default();
            // A value listed twice on one track counts once.
            if list.last() != Some(&position) {
                list.push(position);
            }
        }
    }
}
