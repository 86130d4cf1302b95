//! The catalog index: track metadata and embeddings, tied to the model that computed them.
//!
//! - [`CatalogIndex`] is the in-memory index (build it with [`CatalogIndex::new`] and
//!   [`CatalogIndex::add_track`], search it with [`crate::search`]).
//! - [`format`] reads and writes the one-file binary form (`bincode` 2, checksummed), rejecting
//!   truncated, tampered, foreign-model and future-version files with a clear error. It is the
//!   full-precision form the CLI builds, shards and merges.
//! - [`vectors`] stores embeddings as `f32` or int8.
//!
//! - [`TrackMeta`] (`track.rs`): what the store knows about a track, and its predicted tempo.
//!
//! The published form that pages fetch in parts ([`parts::PARTS_FORMAT_VERSION`]):
//!
//! - [`quantizer`]: compact codes (IVF + product quantisation) and their ADC scoring;
//!   [`train`] fits them with k-means at build time.
//! - [`postings`]: compressed tag posting lists.
//! - [`parts`]: the manifest and the part files (quantiser, codes, filters, re-ranking rows,
//!   metadata, segments, ids, neighbour lists).
//! - [`publish`]: a [`CatalogIndex`] → parts, as a base or as a delta generation.
//! - [`parted`]: [`parted::PartedIndex`], a published index as far as a page has fetched it.

pub mod fingerprints;
pub mod format;
mod lookup;
pub mod neighbour_lists;
pub mod parted;
pub mod parts;
pub mod postings;
pub mod publish;
pub mod quantizer;
mod track;
#[cfg(feature = "catalog")]
pub mod train;
pub mod vectors;
pub mod versions;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

#[cfg(feature = "analysis")]
use crate::embed::TrackAnalysis;
use crate::error::{Error, Result};
use crate::index::vectors::l2_normalize;
#[cfg(feature = "analysis")]
use crate::model::ModelMetadata;
use crate::params::{AnalysisParams, FrontEndKind};
pub use fingerprints::FingerprintTable;
use lookup::add_postings;
pub use track::{Tags, TrackMeta, TrackTempo};
pub use vectors::{Precision, VectorStore};
pub use versions::{LinkSource, VersionLink, VersionTable};

/// What an index says about itself: the numbers and model its embeddings depend on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexHeader {
    /// The analysis numbers the embeddings were computed with.
    pub analysis: AnalysisParams,
    /// Front-end version the embeddings were computed with.
    pub frontend_version: u32,
    /// Version of the tempo estimator the tracks' tempi were computed with
    /// ([`crate::tempo::ESTIMATOR_VERSION`]).
    pub tempo_version: u32,
    /// Name of the model (from its metadata).
    pub model_name: String,
    /// SHA-256 (hex) of the ONNX file that computed the embeddings.
    pub model_sha256: String,
    /// Values per embedding.
    pub embedding_dim: u32,
    /// Whether the model was trained (false for test fixtures).
    pub model_trained: bool,
    /// The tool that wrote the index (`simsong 0.1.0`).
    pub created_by: String,
}

/// Per-segment embeddings of every track, for "where in this track is the match".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentTable {
    /// `offsets[t]..offsets[t + 1]` are track `t`'s rows; `tracks + 1` entries.
    pub offsets: Vec<u32>,
    /// Start of each segment, in seconds from the start of its track.
    pub starts_seconds: Vec<f32>,
    /// One L2-normalised embedding per segment.
    pub vectors: VectorStore,
}

/// A searchable catalog: metadata, track embeddings and segment embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogIndex {
    header: IndexHeader,
    tracks: Vec<TrackMeta>,
    embeddings: VectorStore,
    segments: SegmentTable,
    /// Every track's audio fingerprint, for the version audit.
    fingerprints: FingerprintTable,
    /// Which tracks are versions of which.
    versions: VersionTable,
    by_id: HashMap<String, usize>,
    /// Positions of the tracks carrying each catalog tag: category → value → sorted positions.
    catalog_postings: Postings,
    /// The same for predicted tags.
    predicted_postings: Postings,
}

/// Category → value → sorted track positions: filters become set operations instead of a tag
/// lookup per track (600k tracks: ~1 ms instead of ~100 ms).
pub type Postings = HashMap<String, HashMap<String, Vec<u32>>>;

/// Most segments kept per track by default (evenly spaced when a track has more).
pub const DEFAULT_MAX_SEGMENTS: usize = 64;

impl CatalogIndex {
    /// An empty index for embeddings from the model described by `model` (its ONNX SHA-256 is
    /// `model_sha256`), stored at `precision`.
    #[cfg(feature = "analysis")]
    pub fn new(model: &ModelMetadata, model_sha256: &str, precision: Precision) -> Self {
        let dim = model.embedding_dim;
        let header = IndexHeader {
            analysis: model.analysis,
            frontend_version: model.frontend_version,
            tempo_version: crate::tempo::ESTIMATOR_VERSION,
            model_name: model.name.clone(),
            model_sha256: model_sha256.to_string(),
            embedding_dim: dim as u32,
            model_trained: model.trained,
            created_by: concat!("simsong ", env!("CARGO_PKG_VERSION")).to_string(),
        };
        CatalogIndex {
            header,
            tracks: Vec::new(),
            embeddings: VectorStore::new(precision, dim),
            // Segments only locate the best moment: int8 is plenty and 4× smaller.
            segments: SegmentTable {
                offsets: vec![0],
                starts_seconds: Vec::new(),
                vectors: VectorStore::new(Precision::Int8, dim),
            },
            fingerprints: FingerprintTable::default(),
            versions: VersionTable::default(),
            by_id: HashMap::new(),
            catalog_postings: Postings::new(),
            predicted_postings: Postings::new(),
        }
    }

    /// The header.
    pub fn header(&self) -> &IndexHeader {
        &self.header
    }

    /// Number of tracks.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// True when the index holds no track.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Values per embedding.
    pub fn dim(&self) -> usize {
        self.header.embedding_dim as usize
    }

    /// All tracks, in index order.
    pub fn tracks(&self) -> &[TrackMeta] {
        &self.tracks
    }

    /// Track embeddings.
    pub fn embeddings(&self) -> &VectorStore {
        &self.embeddings
    }

    /// Segment embeddings.
    pub fn segments(&self) -> &SegmentTable {
        &self.segments
    }

    /// Every track's stored audio fingerprint.
    pub fn fingerprints(&self) -> &FingerprintTable {
        &self.fingerprints
    }

    /// Forgets every track's fingerprint (each track then has none), freeing their memory:
    /// publishing never reads them, and with audio they are a catalog's largest part (about
    /// 10 kB per 3 minutes of audio).
    pub fn drop_fingerprints(&mut self) {
        self.fingerprints = FingerprintTable::empty(self.tracks.len());
    }

    /// Replaces every track's stored fingerprint (one slot per track).
    pub fn set_fingerprints(&mut self, table: FingerprintTable) -> Result<()> {
        table
            .validate(self.tracks.len())
            .map_err(Error::InvalidIndex)?;
        self.fingerprints = table;
        Ok(())
    }

    /// Which tracks are versions of which (see [`versions`]).
    pub fn versions(&self) -> &VersionTable {
        &self.versions
    }

    /// Replaces the version links (what [`crate::versions::audit`] found), and records that
    /// every track was audited.
    pub fn set_versions(&mut self, links: Vec<VersionLink>) {
        self.versions.set_links(links);
        self.versions.audited = self.tracks.len() as u32;
    }

    /// Each track's version group: the smallest position among its versions (its own when it
    /// has none).
    pub fn version_groups(&self) -> Vec<u32> {
        self.versions.groups(self.tracks.len())
    }

    /// Position of the track with this id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Track embedding at `position` (dequantised if stored as int8).
    pub fn embedding(&self, position: usize) -> Vec<f32> {
        self.embeddings.row(position)
    }

    /// Every track embedding, row-major (`len × dim` values): the stored values themselves
    /// when they are `f32` (no copy), else dequantised.
    pub fn embedding_rows(&self) -> std::borrow::Cow<'_, [f32]> {
        match &self.embeddings {
            VectorStore::F32 { values, .. } => std::borrow::Cow::Borrowed(values),
            VectorStore::Int8 { .. } => {
                std::borrow::Cow::Owned((0..self.len()).flat_map(|i| self.embedding(i)).collect())
            }
        }
    }

    /// Segment rows of the track at `position`.
    pub fn segment_range(&self, position: usize) -> std::ops::Range<usize> {
        self.segments.offsets[position] as usize..self.segments.offsets[position + 1] as usize
    }

    /// Adds a track analysed by the engine that this index belongs to; keeps at most
    /// `max_segments` segment embeddings (evenly spaced).
    #[cfg(feature = "analysis")]
    pub fn add_track(
        &mut self,
        meta: TrackMeta,
        analysis: &TrackAnalysis,
        max_segments: usize,
    ) -> Result<()> {
        let segments: Vec<(f32, &[f32])> = analysis
            .segments
            .iter()
            .map(|s| (s.start_seconds as f32, s.embedding.as_slice()))
            .collect();
        self.add_embedding(meta, &analysis.embedding, &segments, max_segments)?;
        let stored = analysis.fingerprint.as_ref().map(|f| f.to_bytes());
        self.fingerprints.set_last(stored.as_deref());
        Ok(())
    }

    /// Adds a track from its embedding and `(start seconds, embedding)` segments.
    pub fn add_embedding(
        &mut self,
        meta: TrackMeta,
        embedding: &[f32],
        segments: &[(f32, &[f32])],
        max_segments: usize,
    ) -> Result<()> {
        let dim = self.dim();
        if meta.id.is_empty() {
            return Err(Error::InvalidIndex("a track id is empty".into()));
        }
        if self.by_id.contains_key(&meta.id) {
            return Err(Error::InvalidIndex(format!(
                "track id `{}` is already in the index",
                meta.id
            )));
        }
        let bad_len = |v: &[f32]| v.len() != dim || !v.iter().all(|x| x.is_finite());
        if bad_len(embedding) || segments.iter().any(|(_, s)| bad_len(s)) {
            return Err(Error::InvalidIndex(format!(
                "track `{}`: embeddings must have {dim} finite values",
                meta.id
            )));
        }
        let mut unit = embedding.to_vec();
        l2_normalize(&mut unit);
        self.embeddings.push(&unit);
        for i in evenly_spaced(segments.len(), max_segments.max(1)) {
            let (start, seg) = segments[i];
            let mut seg = seg.to_vec();
            l2_normalize(&mut seg);
            self.segments.starts_seconds.push(start);
            self.segments.vectors.push(&seg);
        }
        self.segments
            .offsets
            .push(self.segments.starts_seconds.len() as u32);
        let position = self.tracks.len() as u32;
        add_postings(&mut self.catalog_postings, &meta.tags, position);
        add_postings(&mut self.predicted_postings, &meta.predicted, position);
        self.by_id.insert(meta.id.clone(), self.tracks.len());
        for of in &meta.version_of {
            self.versions.declared.push((position, of.clone()));
        }
        self.tracks.push(meta);
        self.fingerprints.push(None);
        Ok(())
    }

    /// Removes the tracks with these ids; returns how many were found and removed.
    pub fn remove(&mut self, ids: &[&str]) -> usize {
        let keep: Vec<bool> = self
            .tracks
            .iter()
            .map(|t| !ids.contains(&t.id.as_str()))
            .collect();
        let removed = keep.iter().filter(|k| !**k).count();
        if removed == 0 {
            return 0;
        }
        let mut seg_keep = Vec::with_capacity(self.segments.starts_seconds.len());
        let mut offsets = vec![0u32];
        for (t, &k) in keep.iter().enumerate() {
            let range = self.segment_range(t);
            seg_keep.extend(std::iter::repeat_n(k, range.len()));
            if k {
                offsets.push(offsets.last().unwrap() + range.len() as u32);
            }
        }
        self.embeddings.retain_rows(&keep);
        self.segments.vectors.retain_rows(&seg_keep);
        let mut i = 0;
        self.segments.starts_seconds.retain(|_| {
            i += 1;
            seg_keep[i - 1]
        });
        self.segments.offsets = offsets;
        self.fingerprints.retain(&keep);
        self.versions.retain(&keep);
        let mut i = 0;
        self.tracks.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        self.rebuild_lookup();
        removed
    }

    /// Appends the tracks of `other` (a shard of the same catalog: same model, analysis
    /// numbers and embedding size), keeping their order. Track ids must stay unique.
    pub fn append(&mut self, other: &CatalogIndex) -> Result<()> {
        let (a, b) = (&self.header, &other.header);
        if a.model_sha256 != b.model_sha256
            || a.analysis != b.analysis
            || a.frontend_version != b.frontend_version
            || a.tempo_version != b.tempo_version
            || a.embedding_dim != b.embedding_dim
        {
            return Err(Error::IndexModelMismatch {
                index_model: format!("{} ({})", a.model_name, short(&a.model_sha256)),
                loaded_model: format!("{} ({})", b.model_name, short(&b.model_sha256)),
            });
        }
        if let Some(dup) = other.tracks.iter().find(|t| self.by_id.contains_key(&t.id)) {
            return Err(Error::InvalidIndex(format!(
                "track id `{}` is in both indexes",
                dup.id
            )));
        }
        // Rows are copied as stored, so that merging shards gives exactly the index one
        // machine would have built.
        self.versions
            .append(&other.versions, self.tracks.len() as u32);
        for t in 0..other.len() {
            self.embeddings.push_stored(&other.embeddings, t);
            for s in other.segment_range(t) {
                self.segments
                    .starts_seconds
                    .push(other.segments.starts_seconds[s]);
                self.segments
                    .vectors
                    .push_stored(&other.segments.vectors, s);
            }
            self.segments
                .offsets
                .push(self.segments.starts_seconds.len() as u32);
            let position = self.tracks.len() as u32;
            let meta = other.tracks[t].clone();
            add_postings(&mut self.catalog_postings, &meta.tags, position);
            add_postings(&mut self.predicted_postings, &meta.predicted, position);
            self.by_id.insert(meta.id.clone(), self.tracks.len());
            self.tracks.push(meta);
            self.fingerprints.push(other.fingerprints.get(t));
        }
        Ok(())
    }

    /// Errors unless this index was built by the model with SHA-256 `model_sha256`.
    pub fn ensure_model(&self, model_sha256: &str, model_name: &str) -> Result<()> {
        if self.header.model_sha256 == model_sha256 {
            return Ok(());
        }
        Err(Error::IndexModelMismatch {
            index_model: format!(
                "{} ({})",
                self.header.model_name,
                short(&self.header.model_sha256)
            ),
            loaded_model: format!("{model_name} ({})", short(model_sha256)),
        })
    }

    /// Reassembles an index from its parts, checking every invariant (used by the loader).
    pub fn from_parts(
        header: IndexHeader,
        tracks: Vec<TrackMeta>,
        embeddings: VectorStore,
        segments: SegmentTable,
        fingerprints: FingerprintTable,
        versions: VersionTable,
    ) -> Result<Self> {
        let bad = |why: String| Err(Error::InvalidIndex(why));
        header.analysis.validate()?;
        let kind = FrontEndKind::checked(&header.analysis, "the index")?;
        if header.frontend_version != kind.version() {
            return bad(format!(
                "built with front-end version {}, this build computes version {}",
                header.frontend_version,
                kind.version()
            ));
        }
        crate::tempo::ensure_estimator_version(header.tempo_version)
            .map_err(Error::InvalidIndex)?;
        let dim = header.embedding_dim as usize;
        if !(1..=4096).contains(&dim) {
            return bad(format!("embedding size {dim} is out of range"));
        }
        embeddings
            .validate(tracks.len(), dim)
            .map_err(|e| Error::InvalidIndex(format!("track embeddings: {e}")))?;
        let offsets = &segments.offsets;
        let monotone = offsets.windows(2).all(|w| w[0] <= w[1]);
        if offsets.len() != tracks.len() + 1
            || offsets.first() != Some(&0)
            || !monotone
            || *offsets.last().unwrap() as usize != segments.starts_seconds.len()
        {
            return bad("segment offsets are inconsistent with the track list".into());
        }
        if !segments.starts_seconds.iter().all(|s| s.is_finite()) {
            return bad("segment start times are not finite".into());
        }
        segments
            .vectors
            .validate(segments.starts_seconds.len(), dim)
            .map_err(|e| Error::InvalidIndex(format!("segment embeddings: {e}")))?;
        fingerprints
            .validate(tracks.len())
            .map_err(Error::InvalidIndex)?;
        versions
            .validate(tracks.len())
            .map_err(Error::InvalidIndex)?;
        let mut index = CatalogIndex {
            header,
            tracks,
            embeddings,
            segments,
            fingerprints,
            versions,
            by_id: HashMap::new(),
            catalog_postings: Postings::new(),
            predicted_postings: Postings::new(),
        };
        index.rebuild_lookup();
        if index.by_id.len() != index.tracks.len() {
            return bad("track ids are not unique".into());
        }
        Ok(index)
    }
}

/// `count` indices spread evenly over `0..len` (all of them when `len <= count`).
fn evenly_spaced(len: usize, count: usize) -> Vec<usize> {
    if len <= count {
        return (0..len).collect();
    }
    (0..count).map(|i| i * len / count).collect()
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evenly_spaced_covers_the_range() {
        assert_eq!(evenly_spaced(3, 5), vec![0, 1, 2]);
        assert_eq!(evenly_spaced(10, 4), vec![0, 2, 5, 7]);
    }
}
