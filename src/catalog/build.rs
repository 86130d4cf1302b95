//! Analysing a catalog's tracks into a [`CatalogIndex`]: all of them, or one share of them
//! ([`ShardSpec`]) for a build spread over machines and joined with [`CatalogIndex::append`].
//!
//! The CLI (`simsong index build`), the Python wheel and the distributed job all call
//! [`build_index`], so a track gets the same embedding, segments and predicted tags whoever
//! indexes it.

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;

use super::manifest::Entry;
use crate::embed::{Engine, TrackAnalysis};
use crate::error::{Error, Result};
use crate::index::{CatalogIndex, Precision, Tags};

/// A head's classes at or above this mean probability become predicted tags.
pub const PREDICTED_TAG_MIN_PROBABILITY: f32 = 0.35;

/// `I/N`: share `index` (from 0) of `count` contiguous shares of a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    /// Which share, from 0.
    pub index: usize,
    /// How many shares the manifest is cut into.
    pub count: usize,
}

impl ShardSpec {
    /// Share `index` of `count`; `index` must be below `count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || index >= count {
            return Err(Error::Catalog(format!(
                "shard {index}/{count}: I must be below N"
            )));
        }
        Ok(ShardSpec { index, count })
    }

    /// The entries of this share: the `index`-th of `count` contiguous runs, so that shares
    /// joined in order hold the manifest's tracks in manifest order.
    pub fn select<T>(&self, mut entries: Vec<T>) -> Vec<T> {
        let n = entries.len();
        let (start, end) = (
            self.index * n / self.count,
            (self.index + 1) * n / self.count,
        );
        entries.truncate(end);
        entries.drain(..start);
        entries
    }
}

impl std::str::FromStr for ShardSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let number = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| Error::Catalog(format!("`{t}` is not a number")))
        };
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| Error::Catalog(format!("`{s}` is not I/N (e.g. 0/8)")))?;
        ShardSpec::new(number(i)?, number(n)?)
    }
}

/// A track that could not be indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Its audio file, as the manifest names it.
    pub audio: PathBuf,
    /// Why, in the words the CLI prints after the path.
    pub message: String,
}

/// What a build did.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    /// Tracks added to the index.
    pub indexed: usize,
    /// Tracks left out, in manifest order.
    pub failures: Vec<Failure>,
    /// Audio analysed, in seconds.
    pub audio_seconds: f64,
    /// Wall time of the analysis, in seconds.
    pub wall_seconds: f64,
    /// Threads the analysis ran on.
    pub threads: usize,
}

impl BuildReport {
    /// Seconds of audio analysed per second of wall time.
    pub fn real_time_factor(&self) -> f64 {
        self.audio_seconds / self.wall_seconds.max(1e-9)
    }
}

/// How [`build_index`] runs.
#[derive(Debug, Clone, Copy)]
pub struct BuildOptions {
    /// Only this share of the entries; all of them when `None`.
    pub shard: Option<ShardSpec>,
    /// How the index stores track embeddings.
    pub precision: Precision,
    /// Most segment embeddings kept per track.
    pub max_segments: usize,
    /// Analysis threads; 0 uses rayon's global pool (all cores, or `RAYON_NUM_THREADS`).
    pub threads: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            shard: None,
            precision: Precision::F32,
            max_segments: crate::index::DEFAULT_MAX_SEGMENTS,
            threads: 0,
        }
    }
}

/// A new index of `entries` (or of the share `options.shard` names), built with `engine`.
/// `on_file` is called once per file analysed, from the analysis threads (for progress).
pub fn build_index(
    engine: &Engine,
    entries: Vec<Entry>,
    options: BuildOptions,
    on_file: &(dyn Fn() + Sync),
) -> Result<(CatalogIndex, BuildReport)> {
    let entries = match options.shard {
        Some(shard) => shard.select(entries),
        None => entries,
    };
    let mut index = CatalogIndex::new(
        engine.model_metadata(),
        engine.model_sha256(),
        options.precision,
    );
    let report = add_entries(
        engine,
        &mut index,
        entries,
        options.max_segments,
        options.threads,
        on_file,
    )?;
    Ok((index, report))
}

/// Analyses `entries` in parallel on `threads` threads (0: rayon's global pool) and adds them
/// to `index` in entry order. A file that cannot be analysed is reported, not fatal.
pub fn add_entries(
    engine: &Engine,
    index: &mut CatalogIndex,
    entries: Vec<Entry>,
    max_segments: usize,
    threads: usize,
    on_file: &(dyn Fn() + Sync),
) -> Result<BuildReport> {
    let started = Instant::now();
    // Every catalog track is fingerprinted as it is analysed (the same power frames: about 9%
    // of the analysis), so the version audit never reads the audio again.
    let front = engine.front_end().clone().with_fingerprint(true);
    let analyse = || -> Vec<(Entry, Result<TrackAnalysis>)> {
        entries
            .into_par_iter()
            .map(|entry| {
                let result = front
                    .features_from_path(&entry.audio)
                    .and_then(|features| engine.analyze_features(features))
                    .map(|mut a| {
                        // The display spectrogram is not needed here; drop it early to bound memory.
                        a.overview.mel = crate::mel::MelSpectrogram::from_frames(1, Vec::new());
                        a
                    });
                on_file();
                (entry, result)
            })
            .collect()
    };
    let (analysed, threads) = if threads == 0 {
        (analyse(), rayon::current_num_threads())
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Catalog(format!("cannot start {threads} threads: {e}")))?;
        (pool.install(analyse), threads)
    };
    let mut report = BuildReport {
        threads,
        ..BuildReport::default()
    };
    for (mut entry, result) in analysed {
        let analysis = match result {
            Ok(a) => a,
            Err(e) => {
                report.failures.push(Failure {
                    audio: entry.audio,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let duration = analysis.source.frames as f64 / f64::from(analysis.source.sample_rate_hz);
        entry.meta.duration_seconds = duration as f32;
        entry.meta.predicted = predicted_tags(&analysis);
        entry.meta.tempo = Some((&analysis.tempo).into());
        match index.add_track(entry.meta, &analysis, max_segments) {
            Ok(()) => {
                report.indexed += 1;
                report.audio_seconds += duration;
            }
            Err(e) => report.failures.push(Failure {
                audio: entry.audio,
                message: e.to_string(),
            }),
        }
    }
    report.wall_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Classes each head gives at least [`PREDICTED_TAG_MIN_PROBABILITY`], most likely first.
pub fn predicted_tags(analysis: &TrackAnalysis) -> Tags {
    let mut tags = Tags::new();
    for head in &analysis.heads {
        let mut classes: Vec<(f32, &String)> = head
            .probabilities
            .iter()
            .copied()
            .zip(&head.classes)
            .filter(|(p, _)| *p >= PREDICTED_TAG_MIN_PROBABILITY)
            .collect();
        classes.sort_by(|a, b| b.0.total_cmp(&a.0));
        if !classes.is_empty() {
            tags.insert(
                head.output.clone(),
                classes.into_iter().map(|(_, c)| c.clone()).collect(),
            );
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_manifest_in_order_without_overlap() {
        let all: Vec<usize> = (0..10).collect();
        let joined: Vec<usize> = (0..3)
            .flat_map(|i| ShardSpec::new(i, 3).unwrap().select(all.clone()))
            .collect();
        assert_eq!(joined, all);
        assert_eq!(
            ShardSpec::new(0, 3).unwrap().select(all.clone()),
            vec![0, 1, 2]
        );
        assert!(
            ShardSpec::new(0, 20)
                .unwrap()
                .select(all.clone())
                .is_empty()
        );
    }

    #[test]
    fn shard_specs_parse_and_refuse_nonsense() {
        assert_eq!(
            "3/8".parse::<ShardSpec>().unwrap(),
            ShardSpec::new(3, 8).unwrap()
        );
        for bad in ["8/8", "1/0", "x/2", "3"] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad}");
        }
    }
}
