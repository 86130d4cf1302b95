//! A small published index (a base of 60 tracks and a delta that adds 12 and removes 3), built
//! once per fuzzing process, for the targets that fuzz one kind of part at a time: the fuzzed
//! bytes replace one part, the manifest is patched so that its size and checksum match (so the
//! bytes reach the decoder and the checks after it), and then the index is put through the
//! operations that read that part (search, browse, look up), which must end in answers or
//! errors, never a panic.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::OnceLock;

use simsong::AnalysisParams;
use simsong::browse::{BrowseTask, LookupTask};
use simsong::index::parted::task::Step;
use simsong::index::parted::{Fetch, PartedIndex};
use simsong::index::parts::manifest::{Manifest, PartFile};
use simsong::index::parts::{PartKind, checksum_hex};
use simsong::index::publish::{PartSizes, publish_base, publish_delta};
use simsong::index::quantizer::Quantizer;
use simsong::index::{
    CatalogIndex, IndexHeader, Precision, SegmentTable, Tags, TrackMeta, VectorStore,
};
use simsong::search::parted::SearchTask;
use simsong::search::{SearchRequest, TagFilter};

pub const DIM: usize = 8;

pub struct Fixture {
    pub manifest: Manifest,
    pub files: HashMap<String, Vec<u8>>,
}

fn empty() -> CatalogIndex {
    let header = IndexHeader {
        analysis: AnalysisParams::CURRENT,
        frontend_version: simsong::params::FRONTEND_VERSION,
        tempo_version: simsong::tempo::ESTIMATOR_VERSION,
        model_name: "fuzz".into(),
        model_sha256: "0".repeat(64),
        embedding_dim: DIM as u32,
        model_trained: false,
        created_by: "fuzz".into(),
    };
    let segments = SegmentTable {
        offsets: vec![0],
        starts_seconds: Vec::new(),
        vectors: VectorStore::new(Precision::Int8, DIM),
    };
    CatalogIndex::from_parts(
        header,
        Vec::new(),
        VectorStore::new(Precision::F32, DIM),
        segments,
        Default::default(),
        Default::default(),
    )
    .unwrap()
}

fn vector(seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..DIM)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn tracks(index: &mut CatalogIndex, range: std::ops::Range<u64>) {
    for i in range {
        let mut tags = Tags::new();
        tags.insert(
            "mood".into(),
            vec![["calm", "dark", "happy"][i as usize % 3].into()],
        );
        let meta = TrackMeta {
            id: format!("t{i}"),
            title: format!("Track {i}"),
            tags,
            duration_seconds: 60.0,
            ..Default::default()
        };
        let v = vector(i);
        let seg = vector(i + 1000);
        index
            .add_embedding(meta, &v, &[(0.0, &seg), (3.0, &v)], 8)
            .unwrap();
    }
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // 8 cells; 4 slices of DIM / 4 values with 16 codewords each (the slices of 16 vectors
        // stand for the 4 codebooks).
        let coarse: Vec<f32> = (0..8).flat_map(|i| vector(4000 + i)).collect();
        let codebooks: Vec<f32> = (0..16).flat_map(|i| vector(5000 + i)).collect();
        let quantizer = Quantizer::from_parts(DIM as u32, 4, 16, &coarse, &codebooks);
        let sizes = PartSizes {
            rerank_block_rows: 4,
            meta_shard_tracks: 16,
            neighbours: 8,
        };
        let mut base = empty();
        tracks(&mut base, 0..60);
        let first = publish_base(&base, quantizer.clone(), sizes).unwrap();
        let mut added = empty();
        tracks(&mut added, 100..112);
        let earlier: HashMap<String, Vec<u8>> = first.files.iter().cloned().collect();
        let read = |name: &str| {
            earlier
                .get(name)
                .cloned()
                .ok_or_else(|| simsong::Error::InvalidIndex(format!("{name} is missing")))
        };
        let delta =
            publish_delta(&first.manifest, &quantizer, &added, vec![1, 7, 30], &read).unwrap();
        let files = first.files.into_iter().chain(delta.files).collect();
        Fixture {
            manifest: delta.manifest,
            files,
        }
    })
}

impl Fixture {
    /// The part of `kind` of generation `g` as published.
    pub fn part(&self, kind: PartKind, g: usize) -> &Vec<u8> {
        &self.files[&self.entry(&self.manifest, kind, g).file_name(kind)]
    }

    fn entry<'a>(&self, m: &'a Manifest, kind: PartKind, g: usize) -> &'a PartFile {
        let generation = &m.generations[g];
        match kind {
            PartKind::Quantizer => &m.quantizer,
            PartKind::Codes => &generation.codes,
            PartKind::Filters => &generation.filters,
            PartKind::Rerank => &generation.rerank,
            PartKind::Segments => &generation.segments,
            PartKind::Meta => &generation.meta,
            PartKind::Ids => {
                &generation
                    .ids
                    .as_ref()
                    .expect("tracks in every generation")
                    .file
            }
            PartKind::Neighbours => &m.neighbours.as_ref().expect("lists").file,
        }
    }

    /// The files where the part of `kind` of generation `g` is `bytes`, and the manifest that
    /// says so (size and checksum).
    pub fn with_part(&self, kind: PartKind, g: usize, bytes: Vec<u8>) -> (Manifest, Files<'_>) {
        let mut manifest = self.manifest.clone();
        let entry = PartFile {
            bytes: bytes.len() as u64,
            xxh3: checksum_hex(&bytes),
        };
        if kind == PartKind::Neighbours {
            manifest.neighbours.as_mut().expect("lists").file = entry.clone();
        }
        if kind == PartKind::Quantizer {
            manifest.quantizer = entry.clone();
        }
        let generation = &mut manifest.generations[g];
        match kind {
            PartKind::Quantizer => {}
            PartKind::Codes => generation.codes = entry.clone(),
            PartKind::Filters => generation.filters = entry.clone(),
            PartKind::Rerank => generation.rerank = entry.clone(),
            PartKind::Segments => generation.segments = entry.clone(),
            PartKind::Meta => generation.meta = entry.clone(),
            PartKind::Ids => generation.ids.as_mut().expect("tracks").file = entry.clone(),
            PartKind::Neighbours => {}
        }
        let mut files = Files::new(&self.files);
        files.extra.push((entry.file_name(kind), bytes));
        (manifest, files)
    }
}

/// The fixture's files with some added or replaced, without copying the others.
pub struct Files<'a> {
    base: &'a HashMap<String, Vec<u8>>,
    pub extra: Vec<(String, Vec<u8>)>,
}

impl<'a> Files<'a> {
    pub fn new(base: &'a HashMap<String, Vec<u8>>) -> Self {
        Files {
            base,
            extra: Vec::new(),
        }
    }

    pub fn insert(&mut self, name: String, bytes: Vec<u8>) {
        self.extra.push((name, bytes));
    }

    fn get(&self, name: &str) -> Option<&[u8]> {
        self.extra
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
            .or_else(|| self.base.get(name).map(Vec::as_slice))
    }
}

fn read(files: &Files, f: &Fetch) -> Option<Vec<u8>> {
    let file = files.get(&f.file)?;
    let start = (f.offset as usize).min(file.len());
    let end = (f.offset.saturating_add(f.length) as usize).min(file.len());
    Some(file[start..end].to_vec())
}

/// Runs one step function to its end, feeding it from `files` (at most 20 rounds).
fn drive<T>(
    index: &mut PartedIndex,
    files: &Files,
    mut step: impl FnMut(&mut PartedIndex) -> simsong::Result<Step<T>>,
) {
    for _ in 0..20 {
        match step(index) {
            Ok(Step::Need(needs)) => {
                for f in needs {
                    let key = f.key;
                    match read(files, &f) {
                        Some(bytes) => {
                            if let Err(e) = index.provide(key, &bytes) {
                                index.fail(key, e.to_string());
                            }
                        }
                        None => index.fail(key, "missing".into()),
                    }
                }
            }
            _ => return,
        }
    }
}

/// What a fuzzed index is put through: the operations that read the part under test (each
/// target runs only those, so that its executions go to its own part).
#[derive(Clone, Copy)]
pub struct Ops {
    /// Searches by catalog track (with the default shortlist and a short one) and by an
    /// embedding with a tag filter: the quantiser, cells or whole codes, filters, re-ranking
    /// rows, metadata, segment rows, ids.
    pub search: bool,
    /// A page of the catalog: cell tables, filters, metadata shards.
    pub browse: bool,
    /// Ids to tracks, known and unknown: id shards, metadata shards.
    pub lookup: bool,
}

impl Ops {
    pub const ALL: Ops = Ops {
        search: true,
        browse: true,
        lookup: true,
    };

    /// The operations that read a part of `kind`.
    pub fn reading(kind: PartKind) -> Ops {
        match kind {
            PartKind::Codes | PartKind::Filters | PartKind::Quantizer => Ops::ALL,
            PartKind::Rerank | PartKind::Segments | PartKind::Neighbours => Ops {
                search: true,
                browse: false,
                lookup: false,
            },
            PartKind::Meta | PartKind::Ids => Ops {
                search: false,
                browse: kind == PartKind::Meta,
                lookup: true,
            },
        }
    }
}

/// The body of the targets that fuzz one whole part: the first byte picks the generation and
/// shard (and, with its top bit, whether the bytes keep their own envelope), the rest is the
/// payload, wrapped in a valid envelope and named in the manifest with its true size and
/// checksum; then [`exercise_index`] with the operations that read that part. The manifest is
/// handed over parsed: its JSON is `parts_manifest`'s to fuzz.
pub fn fuzz_part(kind: PartKind, data: &[u8]) {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    let fx = fixture();
    // The neighbours part is one for the whole index, its envelope the last generation's.
    let g = if kind == PartKind::Neighbours {
        fx.manifest.neighbours_generation() as usize
    } else {
        (pick & 1) as usize
    };
    let bytes = if pick & 0x80 != 0 {
        payload.to_vec()
    } else {
        fx.manifest.envelope(kind, g as u32).wrap(payload)
    };
    let (manifest, files) = fx.with_part(kind, g, bytes);
    exercise_index(
        PartedIndex::from_manifest(manifest),
        &files,
        Ops::reading(kind),
    );
}

/// Parses the manifest, then [`exercise_index`] with every operation.
pub fn exercise(manifest_bytes: &[u8], files: &Files) {
    if let Ok(index) = PartedIndex::new(manifest_bytes) {
        exercise_index(index, files, Ops::ALL);
    }
}

/// Runs `ops` as a first visit does (cells and pieces fetched by range), then loads the whole
/// index as a page does at idle and runs them again.
pub fn exercise_index(mut index: PartedIndex, files: &Files, ops: Ops) {
    run_ops(&mut index, files, ops);
    for f in index.load_needs() {
        if let (key, Some(bytes)) = (f.key, read(files, &f))
            && let Err(e) = index.provide(key, &bytes)
        {
            index.fail(key, e.to_string());
        }
    }
    index.clear_failures();
    run_ops(&mut index, files, ops);
    index.trim_caches();
    let _ = index.held_bytes();
}

fn run_ops(index: &mut PartedIndex, files: &Files, ops: Ops) {
    let index = &mut *index;
    let _ = index.tag_counts(false);
    if ops.search {
        for (i, request) in [
            SearchRequest::similar_to_track("t3", 5),
            SearchRequest::similar_to_track("t105", 20),
            SearchRequest {
                filter: TagFilter {
                    catalog: [("mood".to_string(), vec!["dark".to_string()])].into(),
                    ..Default::default()
                },
                ..SearchRequest::similar_to_embedding(vector(3), 3)
            },
        ]
        .into_iter()
        .enumerate()
        {
            if let Ok(task) = SearchTask::new(request) {
                let mut task = if i == 0 { task } else { task.with_shortlist(7) };
                drive(index, files, |x| task.step(x));
            }
        }
    }
    if ops.browse {
        let mut browse = BrowseTask::new(&TagFilter::default(), 10, 30);
        drive(index, files, |x| browse.step(x));
    }
    if ops.lookup {
        let mut lookup = LookupTask::new(vec!["t0".into(), "t111".into(), "nope".into()]);
        drive(index, files, |x| lookup.step(x));
    }
}
