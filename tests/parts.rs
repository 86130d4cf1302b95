//! The published index (format 3): recall of the codes + re-ranking against an exact scan,
//! filters, deltas, shards, and the refusal of damaged, foreign or lying parts, each by name.
#![cfg(all(not(target_arch = "wasm32"), feature = "cli"))]

mod common;

use std::collections::{BTreeSet, HashMap};

use common::rng::Rng;
use common::test_model;
use simsong::browse::BrowseTask;
use simsong::catalog::files::publish_into;
use simsong::index::parted::task::run_to_end;
use simsong::index::parted::{Fetch, PartKey, PartedIndex};
use simsong::index::publish::{PartSizes, Published, publish_base, publish_base_to, publish_delta};
use simsong::index::train::{QuantizerShape, train_quantizer};
use simsong::index::{Precision, Tags};
use simsong::search::parted::{PROBE_CELLS, SearchOutcome, SearchTask};
use simsong::search::{Reference, SearchRequest, TagFilter, search};
use simsong::{CatalogIndex, Engine, TrackMeta};

const DIM: usize = 128;

/// The files of a published index, as a server would hold them.
struct Server {
    files: HashMap<String, Vec<u8>>,
    manifest: Vec<u8>,
}

impl Server {
    fn new(p: &Published) -> Self {
        let mut s = Server {
            files: HashMap::new(),
            manifest: Vec::new(),
        };
        s.update(p);
        s
    }

    fn update(&mut self, p: &Published) {
        for (name, bytes) in &p.files {
            self.files.insert(name.clone(), bytes.clone());
        }
        self.manifest = p.manifest.to_json();
    }

    fn read(&self, f: &Fetch) -> simsong::Result<Vec<u8>> {
        let file = self
            .files
            .get(&f.file)
            .ok_or_else(|| simsong::Error::IndexPart {
                part: f.file.clone(),
                problem: "HTTP 404".into(),
            })?;
        let end = (f.offset + f.length).min(file.len() as u64) as usize;
        Ok(file[(f.offset as usize).min(end)..end].to_vec())
    }

    fn open(&self) -> PartedIndex {
        PartedIndex::new(&self.manifest).unwrap()
    }

    fn search(
        &self,
        index: &mut PartedIndex,
        request: SearchRequest,
    ) -> simsong::Result<SearchOutcome> {
        let mut task = SearchTask::new(request)?;
        run_to_end(index, |i| task.step(i), |f| self.read(f))
    }
}

/// A catalog of `n` tracks in `clusters` clusters (members at cosine ≈ 0.5), one track in a
/// hundred tagged `rare:yes`, every third `mood:calm`, two segments each.
fn catalog(n: usize, clusters: usize, seed: u64, id_prefix: &str) -> CatalogIndex {
    catalog_range(n, clusters, seed, id_prefix, 0..n)
}

/// Tracks `range` of the catalog above (the same tracks as in the whole).
fn catalog_range(
    n: usize,
    clusters: usize,
    seed: u64,
    id_prefix: &str,
    range: std::ops::Range<usize>,
) -> CatalogIndex {
    let engine = Engine::from_model_bytes(&test_model()).unwrap();
    let mut meta = engine.model_metadata().clone();
    meta.embedding_dim = DIM;
    let mut index = CatalogIndex::new(&meta, engine.model_sha256(), Precision::F32);
    let mut rng = Rng(seed);
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| rng.unit(DIM)).collect();
    for i in 0..n {
        let offset = rng.unit(DIM);
        let v: Vec<f32> = centres[i % clusters]
            .iter()
            .zip(&offset)
            .map(|(c, e)| c + e)
            .collect();
        let mut tags = Tags::new();
        if i % 100 == 7 {
            tags.insert("rare".into(), vec!["yes".into()]);
        }
        if i % 3 == 0 {
            tags.insert("mood".into(), vec!["calm".into()]);
        }
        let seg_a: Vec<f32> = v
            .iter()
            .zip(rng.unit(DIM))
            .map(|(a, b)| a + 2.0 * b)
            .collect();
        let track = TrackMeta {
            id: format!("{id_prefix}{i:06}"),
            title: format!("Track {i}"),
            collection: format!("Album {}", i / 10),
            tags,
            duration_seconds: 120.0,
            ..Default::default()
        };
        if !range.contains(&i) {
            continue;
        }
        // The second segment is the track itself: it must be found as the best one.
        index
            .add_embedding(track, &v, &[(0.0, &seg_a), (3.0, &v)], 64)
            .unwrap();
    }
    index
}

/// Parts cut as by default, without neighbour lists (searches by track run on the codes).
const WITHOUT_LISTS: PartSizes = PartSizes {
    rerank_block_rows: 16,
    meta_shard_tracks: 256,
    neighbours: 0,
};

fn publish(index: &CatalogIndex, sizes: PartSizes) -> Published {
    publish_in_cells(index, sizes, None)
}

/// Published with `cells` cells (`None`: the default for its size).
fn publish_in_cells(index: &CatalogIndex, sizes: PartSizes, cells: Option<usize>) -> Published {
    let mut vectors = Vec::new();
    for i in 0..index.len() {
        vectors.extend(index.embedding(i));
    }
    let shape = QuantizerShape {
        cells,
        ..QuantizerShape::quick()
    };
    let q = train_quantizer(&vectors, DIM, shape).unwrap();
    publish_base(index, q, sizes).unwrap()
}

fn recall(exact: &[String], got: &[String]) -> f64 {
    let e: BTreeSet<_> = exact.iter().collect();
    got.iter().filter(|id| e.contains(id)).count() as f64 / exact.len().max(1) as f64
}

#[test]
fn codes_plus_reranking_match_an_exact_scan() {
    let index = catalog(20_000, 200, 7, "t");
    let published = publish(&index, PartSizes::default());
    let server = Server::new(&published);
    let mut parted = server.open();
    let rare = TagFilter {
        catalog: [("rare".to_string(), vec!["yes".to_string()])].into(),
        ..Default::default()
    };
    for (filter, floor) in [(TagFilter::default(), 0.95), (rare, 0.95)] {
        let mut total = 0.0;
        let queries = 40;
        for q in 0..queries {
            let id = format!("t{:06}", q * 499);
            let request = SearchRequest {
                filter: filter.clone(),
                ..SearchRequest::similar_to_track(&id, 10)
            };
            let exact: Vec<String> = search(&index, &request)
                .unwrap()
                .into_iter()
                .map(|h| h.id)
                .collect();
            let outcome = server.search(&mut parted, request).unwrap();
            assert!(
                !outcome.approximate && outcome.notes.is_empty(),
                "{:?}",
                outcome.notes
            );
            let got: Vec<String> = outcome.hits.iter().map(|h| h.hit.id.clone()).collect();
            assert!(
                outcome
                    .hits
                    .iter()
                    .all(|h| h.track.as_ref().is_some_and(|t| t.id == h.hit.id))
            );
            if !filter.is_empty() {
                assert!(
                    outcome.hits.iter().all(|h| h
                        .track
                        .as_ref()
                        .unwrap()
                        .tags
                        .contains_key("rare"))
                );
            }
            total += recall(&exact, &got);
        }
        let r = total / queries as f64;
        assert!(
            r >= floor,
            "recall@10 {r:.3} below {floor} (filter {filter:?})"
        );
    }
}

#[test]
fn best_segment_scores_and_references_behave_as_in_the_exact_search() {
    let index = catalog(3000, 30, 11, "t");
    let server = Server::new(&publish(&index, PartSizes::default()));
    let mut parted = server.open();
    let request = SearchRequest::similar_to_track("t000042", 5);
    let exact = search(&index, &request).unwrap();
    let outcome = server.search(&mut parted, request).unwrap();
    assert_eq!(outcome.hits[0].hit.id, exact[0].id);
    for (h, e) in outcome.hits.iter().zip(&exact) {
        if h.hit.id == e.id {
            assert!(
                (h.hit.score - e.score).abs() < 0.02,
                "{} vs {}",
                h.hit.score,
                e.score
            );
        }
        // The second segment (the track's own embedding) matches best.
        assert_eq!(h.hit.best_segment_seconds, Some(3.0));
    }
    assert!(
        outcome.hits.iter().all(|h| h.hit.id != "t000042"),
        "the reference is excluded"
    );
    // "Less like this" and an embedding reference work, and an unknown id is named.
    let v = index.embedding(index.position("t000100").unwrap());
    let request = SearchRequest {
        positive: vec![Reference::Embedding(v)],
        negative: vec![Reference::Track("t000101".into())],
        k: 3,
        ..Default::default()
    };
    let hits = server.search(&mut parted, request.clone()).unwrap().hits;
    let exact = search(&index, &request).unwrap();
    assert_eq!(hits[0].hit.id, exact[0].id);
    let e = server
        .search(&mut parted, SearchRequest::similar_to_track("nope", 3))
        .unwrap_err();
    assert!(e.to_string().contains("no track with id `nope`"), "{e}");
}

/// A published part by name, for the neighbour lists of a delta.
fn read_published(files: &HashMap<String, Vec<u8>>, name: &str) -> simsong::Result<Vec<u8>> {
    files
        .get(name)
        .cloned()
        .ok_or_else(|| simsong::Error::InvalidIndex(format!("{name} is not published")))
}

#[test]
fn deltas_add_and_remove_without_touching_published_parts() {
    let base = catalog(2000, 20, 3, "a");
    let first = publish(&base, PartSizes::default());
    let mut server = Server::new(&first);
    let before: HashMap<String, Vec<u8>> = server.files.clone();
    let mut parted = server.open();
    let quantizer = {
        for f in parted.load_needs() {
            let bytes = server.read(&f).unwrap();
            parted.provide(f.key, &bytes).unwrap();
        }
        parted.quantizer().unwrap().clone()
    };
    let added = catalog(300, 20, 3, "b");
    let delta = publish_delta(&first.manifest, &quantizer, &added, Vec::new(), &|name| {
        read_published(&before, name)
    })
    .unwrap();
    for (name, bytes) in &delta.files {
        assert!(!before.contains_key(name), "a delta rewrote {name}");
        // The neighbour lists are rewritten whole (every list may gain the new tracks); the
        // delta's own parts are small.
        if !name.starts_with("parts/neighbours-") {
            assert!(bytes.len() < 200_000, "{name}");
        }
    }
    server.update(&delta);
    // b000005 has the same vector as a000005 (same seed): it is found, and by its new id.
    let mut parted = server.open();
    let hits = server
        .search(&mut parted, SearchRequest::similar_to_track("a000005", 3))
        .unwrap()
        .hits;
    assert_eq!(hits[0].hit.id, "b000005");
    assert!((hits[0].hit.score - 1.0).abs() < 0.01);
    // Tags of the delta are searchable with those of the base.
    let calm = TagFilter {
        catalog: [("rare".to_string(), vec!["yes".to_string()])].into(),
        ..Default::default()
    };
    let browse = {
        let mut task = BrowseTask::new(&calm, 0, 100);
        run_to_end(&mut parted, |i| task.step(i), |f| server.read(f)).unwrap()
    };
    assert_eq!(browse.total, 20 + 3);
    // Remove b000005 and a000006: a small delta, and they are gone.
    let positions = ["b000005", "a000006"].map(|id| {
        for key in parted.id_keys(id) {
            if !parted.has(key) {
                let bytes = server.read(&parted.fetch_for(key).unwrap()).unwrap();
                parted.provide(key, &bytes).unwrap();
            }
        }
        parted.position_of(id).unwrap().unwrap()
    });
    let manifest = parted.manifest().clone();
    let empty = catalog(0, 1, 1, "x");
    let removal = publish_delta(&manifest, &quantizer, &empty, positions.to_vec(), &|name| {
        read_published(&server.files, name)
    })
    .unwrap();
    server.update(&removal);
    let mut parted = server.open();
    let hits = server
        .search(&mut parted, SearchRequest::similar_to_track("a000005", 3))
        .unwrap()
        .hits;
    assert!(
        hits.iter()
            .all(|h| h.hit.id != "b000005" && h.hit.id != "a000006")
    );
    let e = server
        .search(&mut parted, SearchRequest::similar_to_track("b000005", 3))
        .unwrap_err();
    assert!(e.to_string().contains("no track with id `b000005`"), "{e}");
    assert_eq!(parted.manifest().live_tracks(), 2298);
}

#[test]
fn a_folder_gets_the_parts_kept_in_memory_and_a_failed_publication_leaves_none() {
    let index = catalog(1200, 12, 9, "f");
    let quantizer = train_quantizer(&index.embedding_rows(), DIM, QuantizerShape::quick()).unwrap();
    let sizes = PartSizes::default();
    let kept = publish_base(&index, quantizer.clone(), sizes).unwrap();
    // Written a piece at a time into a folder: the same files.
    let dir = common::tmp("published-folder");
    let written = publish_into(&dir, |sink| {
        publish_base_to(&index, quantizer.clone(), sizes, sink)
    })
    .unwrap();
    assert!(written.files.is_empty());
    assert_eq!(written.manifest, kept.manifest);
    assert_eq!(written.parts, kept.parts);
    let names = |dir: &std::path::Path| -> BTreeSet<String> {
        std::fs::read_dir(dir.join("parts"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    };
    assert_eq!(
        names(&dir).len(),
        kept.files.len(),
        "no temporary file is left"
    );
    for (name, bytes) in &kept.files {
        assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
    }
    let manifest = std::fs::read(dir.join("index.json")).unwrap();
    assert_eq!(manifest, kept.manifest.to_json());
    // Published again over itself (the parts are there): nothing changes.
    publish_into(&dir, |sink| {
        publish_base_to(&index, quantizer.clone(), sizes, sink)
    })
    .unwrap();
    assert_eq!(names(&dir).len(), kept.files.len());
    // A publication that fails once its parts are written leaves the folder as it was.
    let failed = publish_into(&dir, |sink| {
        let other = catalog(300, 3, 4, "g");
        publish_base_to(other, quantizer.clone(), sizes, sink)?;
        Err(simsong::Error::InvalidIndex("stopped".into()))
    });
    assert!(failed.is_err());
    assert_eq!(names(&dir).len(), kept.files.len());
    assert_eq!(std::fs::read(dir.join("index.json")).unwrap(), manifest);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shards_merged_give_the_same_parts_as_one_build() {
    let whole = catalog(1500, 15, 5, "t");
    let first = catalog_range(1500, 15, 5, "t", 0..700);
    let second = catalog_range(1500, 15, 5, "t", 700..1500);
    // Through the one-file format, as shards travel between machines.
    let mut merged = CatalogIndex::from_bytes(&first.to_bytes().unwrap()).unwrap();
    merged
        .append(&CatalogIndex::from_bytes(&second.to_bytes().unwrap()).unwrap())
        .unwrap();
    assert!(merged.append(&second).is_err(), "the same tracks twice");
    let a = publish(&whole, PartSizes::default());
    let b = publish(&merged, PartSizes::default());
    assert_eq!(a.manifest, b.manifest);
    assert_eq!(a.files, b.files);
}

#[test]
fn a_first_search_reads_only_the_cells_it_probes_and_the_whole_codes_scan_all() {
    // 256 cells of ~78 tracks (the default would make 33 of 600, nearly all probed).
    let index = catalog(20_000, 200, 11, "t");
    let published = publish_in_cells(&index, WITHOUT_LISTS, Some(256));
    let server = Server::new(&published);
    let codes_file = published.manifest.generations[0]
        .codes
        .file_name(simsong::index::parts::PartKind::Codes);
    let codes_bytes = server.files[&codes_file].len() as u64;
    let mut rng = Rng(99);
    let (mut first, mut later) = (0.0, 0.0);
    let queries = 30;
    for _ in 0..queries {
        // A dropped file: an embedding near a cluster, not a catalog track.
        let centre = index.embedding(rng.next() as usize % index.len());
        let v: Vec<f32> = centre
            .iter()
            .zip(rng.unit(DIM))
            .map(|(c, e)| c + 0.5 * e)
            .collect();
        let request = SearchRequest::similar_to_embedding(v, 10);
        let exact: Vec<String> = search(&index, &request)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        let mut parted = server.open();
        let fetched = std::cell::RefCell::new(Vec::<Fetch>::new());
        let mut task = SearchTask::new(request.clone()).unwrap();
        let outcome = run_to_end(
            &mut parted,
            |i| task.step(i),
            |f| {
                fetched.borrow_mut().push(f.clone());
                server.read(f)
            },
        )
        .unwrap();
        assert!(outcome.notes.is_empty(), "{:?}", outcome.notes);
        let fetched = fetched.into_inner();
        // The codes by range only: the cell table and the probed cells, a small share.
        let from_codes: Vec<&Fetch> = fetched.iter().filter(|f| f.file == codes_file).collect();
        assert!(from_codes.iter().all(|f| !f.whole));
        let cells = from_codes
            .iter()
            .filter(|f| matches!(f.key, PartKey::Cell(..)))
            .count();
        // PROBE_CELLS, then more until PROBE_MIN_ELIGIBLE tracks (32 of these 256 cells hold
        // about 2,500); an empty cell needs no request.
        assert!(
            (PROBE_CELLS - 4..128).contains(&cells),
            "{cells} cells read"
        );
        let read: u64 = from_codes.iter().map(|f| f.length).sum();
        assert!(
            read * 3 < codes_bytes,
            "{read} of {codes_bytes} code bytes read"
        );
        assert!(
            fetched.iter().all(|f| !f.file.contains("/filters-")),
            "no filter, no filters part"
        );
        // The hits' details are their own records and segment rows, located by their
        // re-ranking rows: no metadata shard (256 tracks each) and no shard table.
        assert!(
            fetched
                .iter()
                .all(|f| !matches!(f.key, PartKey::MetaTable(_) | PartKey::Meta(..))),
            "no metadata shard: {:?}",
            fetched.iter().map(|f| &f.key).collect::<Vec<_>>()
        );
        for h in &outcome.hits {
            assert!(h.track.is_some() && h.hit.best_segment_seconds.is_some());
        }
        let records = fetched
            .iter()
            .filter(|f| matches!(f.key, PartKey::Record(_)))
            .count();
        assert_eq!(records, outcome.hits.len());
        let got: Vec<String> = outcome.hits.iter().map(|h| h.hit.id.clone()).collect();
        first += recall(&exact, &got);
        // After the idle load (the whole codes part), every cell is scanned.
        for f in parted.load_needs() {
            parted.provide(f.key, &server.read(&f).unwrap()).unwrap();
        }
        assert!(parted.is_complete());
        let again = server.search(&mut parted, request).unwrap();
        later += recall(
            &exact,
            &again
                .hits
                .iter()
                .map(|h| h.hit.id.clone())
                .collect::<Vec<_>>(),
        );
    }
    let (first, later) = (first / queries as f64, later / queries as f64);
    assert!(
        first >= 0.9 && later >= first - 1e-9,
        "recall@10 {first} probing, {later} scanning all"
    );
}

#[test]
fn damaged_foreign_and_lying_parts_are_refused_by_name() {
    // 16 cells, so that one cell is a small share of the codes.
    let index = catalog(1200, 12, 9, "t");
    let published = publish_in_cells(&index, PartSizes::default(), Some(16));
    let other = publish_in_cells(&catalog(1200, 12, 10, "t"), PartSizes::default(), Some(16));
    let server = Server::new(&published);
    let g = &published.manifest.generations[0];
    let codes_name = g.codes.file_name(simsong::index::parts::PartKind::Codes);
    let meta_name = g.meta.file_name(simsong::index::parts::PartKind::Meta);

    // A truncated codes part: its name and the sizes.
    let mut parted = server.open();
    let bytes = &server.files[&codes_name];
    let e = parted
        .provide(PartKey::Codes(0), &bytes[..bytes.len() - 10])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&codes_name) && e.contains("bytes arrived where"),
        "{e}"
    );
    // A bit flipped: the checksum.
    let mut flipped = bytes.clone();
    flipped[1000] ^= 1;
    let e = parted
        .provide(PartKey::Codes(0), &flipped)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&codes_name) && e.contains("checksum"), "{e}");
    // Read by range: the cell table, then a cell, each checked on its own; another build's
    // table and a damaged cell are refused by name.
    let head = server
        .read(&parted.fetch_for(PartKey::CodesHead(0)).unwrap())
        .unwrap();
    let other_codes = other.manifest.generations[0]
        .codes
        .file_name(simsong::index::parts::PartKind::Codes);
    let foreign = &other
        .files
        .iter()
        .find(|(n, _)| *n == other_codes)
        .unwrap()
        .1;
    let e = parted
        .provide(PartKey::CodesHead(0), &foreign[48..48 + head.len()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&codes_name) && e.contains("another build"),
        "{e}"
    );
    assert!(
        parted.fetch_for(PartKey::Cell(0, 3)).is_none(),
        "needs the table first"
    );
    parted.provide(PartKey::CodesHead(0), &head).unwrap();
    let cell = parted.fetch_for(PartKey::Cell(0, 3)).unwrap();
    assert!(
        cell.length > 0 && cell.length < bytes.len() as u64 / 10,
        "{cell:?}"
    );
    let mut damaged = server.read(&cell).unwrap();
    damaged[0] ^= 1;
    let e = parted
        .provide(PartKey::Cell(0, 3), &damaged)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&codes_name) && e.contains("cell 3"), "{e}");
    // Another build's quantiser, well formed and under the manifest's size and checksum, is
    // still refused: the index id is a hash of it.
    let q_name = other
        .manifest
        .quantizer
        .file_name(simsong::index::parts::PartKind::Quantizer);
    let mut lying = published.manifest.clone();
    lying.quantizer = other.manifest.quantizer.clone();
    let mut foreign_q = other
        .files
        .iter()
        .find(|(n, _)| *n == q_name)
        .unwrap()
        .1
        .clone();
    foreign_q[24..40].copy_from_slice(&published.manifest.index_id_bytes());
    lying.quantizer.xxh3 = simsong::index::parts::checksum_hex(&foreign_q);
    let mut fooled = PartedIndex::new(&lying.to_json()).unwrap();
    let e = fooled
        .provide(PartKey::Quantizer, &foreign_q)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not the quantiser this index was coded with"),
        "{e}"
    );
    // The metadata part is read by range: its shard table, then a shard, each checked on its
    // own; damage and another build's table are refused by name.
    let table = server
        .read(&parted.fetch_for(PartKey::MetaTable(0)).unwrap())
        .unwrap();
    let mut damaged = table.clone();
    damaged[3] ^= 1;
    let e = parted
        .provide(PartKey::MetaTable(0), &damaged)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&meta_name) && e.contains("checksum"), "{e}");
    let foreign_name = other.manifest.generations[0]
        .meta
        .file_name(simsong::index::parts::PartKind::Meta);
    let foreign = &other
        .files
        .iter()
        .find(|(n, _)| *n == foreign_name)
        .unwrap()
        .1;
    let e = parted
        .provide(PartKey::MetaTable(0), &foreign[48..48 + table.len()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("another build"), "{e}");
    parted.provide(PartKey::MetaTable(0), &table).unwrap();
    let shard = parted.fetch_for(PartKey::Meta(0, 0)).unwrap();
    let mut damaged = server.read(&shard).unwrap();
    damaged[10] ^= 1;
    let e = parted
        .provide(PartKey::Meta(0, 0), &damaged)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&meta_name) && e.contains("shard 0"), "{e}");
    // A manifest that lies about the re-ranking part's size is refused on parsing.
    let mut lying = published.manifest.clone();
    lying.generations[0].rerank.bytes += 7;
    let e = PartedIndex::new(&lying.to_json()).unwrap_err().to_string();
    assert!(e.contains("re-ranking part must hold"), "{e}");
    // A future version, a one-file index, and HTML are named for what they are.
    let future = String::from_utf8(published.manifest.to_json())
        .unwrap()
        .replace(
            &format!(
                "\"version\": {}",
                simsong::index::parts::PARTS_FORMAT_VERSION
            ),
            &format!(
                "\"version\": {}",
                simsong::index::parts::PARTS_FORMAT_VERSION + 1
            ),
        );
    let e = PartedIndex::new(future.as_bytes()).unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "format version {}",
            simsong::index::parts::PARTS_FORMAT_VERSION + 1
        )),
        "{e}"
    );
    let e = PartedIndex::new(&index.to_bytes().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("one-file index"), "{e}");
    let e = PartedIndex::new(b"<!DOCTYPE html><p>not found</p>")
        .unwrap_err()
        .to_string();
    assert!(e.contains("HTML"), "{e}");
}

#[test]
fn neighbour_lists_answer_similar_as_the_search_part_does_without_it() {
    let index = catalog(3000, 30, 17, "t");
    let with = Server::new(&publish(&index, PartSizes::default()));
    let without = Server::new(&publish(&index, WITHOUT_LISTS));
    let fetched = std::cell::RefCell::new(Vec::new());
    for q in [5usize, 700, 2999] {
        let id = format!("t{q:06}");
        let request = SearchRequest::similar_to_track(&id, 10);
        let mut parted = with.open();
        let mut task = SearchTask::new(request.clone()).unwrap();
        fetched.borrow_mut().clear();
        let fast = run_to_end(
            &mut parted,
            |i| task.step(i),
            |f| {
                fetched.borrow_mut().push((f.key, f.length));
                with.read(f)
            },
        )
        .unwrap();
        assert!(
            fast.from_neighbours && fast.notes.is_empty(),
            "{:?}",
            fast.notes
        );
        assert_eq!(fast.reference_track.as_ref().unwrap().id, id);
        let keys: Vec<String> = fetched
            .borrow()
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        let kinds: BTreeSet<&str> = keys.iter().map(|k| k.split(':').next().unwrap()).collect();
        assert_eq!(
            kinds,
            BTreeSet::from(["ids", "neighbours", "record"]),
            "the id bucket, the list and the tracks' records alone: {keys:?}"
        );
        let bytes: u64 = fetched.borrow().iter().map(|(_, n)| n).sum();
        assert!(bytes < 8_000, "{bytes} bytes of catalog data");
        // The same hits, scores and best segments as a re-ranked search of the codes.
        let full = without.search(&mut without.open(), request).unwrap();
        assert!(!full.from_neighbours);
        let ids = |o: &SearchOutcome| o.hits.iter().map(|h| h.hit.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&fast), ids(&full));
        for (a, b) in fast.hits.iter().zip(&full.hits) {
            assert!((a.hit.score - b.hit.score).abs() < 1e-5);
            assert!(a.hit.best_segment_seconds.is_some());
            assert_eq!(a.hit.best_segment_seconds, b.hit.best_segment_seconds);
            // The codes search's query is the same row normalised once more: the last bit may differ.
            let (sa, sb) = (
                a.hit.best_segment_score.unwrap(),
                b.hit.best_segment_score.unwrap(),
            );
            assert!((sa - sb).abs() < 1e-5, "{sa} {sb}");
            assert_eq!(a.track, b.track);
        }
    }
    // A filter, or more hits than listed: the codes answer.
    let mut parted = with.open();
    let long = with
        .search(&mut parted, SearchRequest::similar_to_track("t000005", 65))
        .unwrap();
    assert!(!long.from_neighbours && long.hits.len() == 65);
    // Without the neighbours part: the codes answer, and say why.
    let mut broken = Server::new(&publish(&index, PartSizes::default()));
    let m = PartedIndex::new(&broken.manifest)
        .unwrap()
        .manifest()
        .clone();
    let lists = m
        .neighbours
        .as_ref()
        .unwrap()
        .file
        .file_name(simsong::index::parts::PartKind::Neighbours);
    broken.files.remove(&lists);
    let outcome = broken
        .search(
            &mut broken.open(),
            SearchRequest::similar_to_track("t000005", 10),
        )
        .unwrap();
    assert!(!outcome.from_neighbours && outcome.hits.len() == 10);
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.contains("neighbour list could not be fetched") && n.contains(&lists)),
        "{:?}",
        outcome.notes
    );
    // A damaged list is refused the same way.
    let mut damaged = with.files[&lists].clone();
    let record = simsong::index::parts::neighbours::record_bytes(64) as usize;
    for p in 0..3000 {
        damaged[48 + p * record + 20] ^= 1;
    }
    broken.files.insert(lists.clone(), damaged);
    let outcome = broken
        .search(
            &mut broken.open(),
            SearchRequest::similar_to_track("t000005", 10),
        )
        .unwrap();
    assert!(
        outcome.notes.iter().any(|n| n.contains("checksum")),
        "{:?}",
        outcome.notes
    );
}

#[test]
fn missing_parts_degrade_the_answer_or_fail_it_by_name() {
    let index = catalog(3000, 30, 13, "t");
    // Without neighbour lists: every search runs on the codes (the lists' own losses are
    // in the test below).
    let published = publish(&index, WITHOUT_LISTS);
    let mut server = Server::new(&published);
    let g = &published.manifest.generations[0];
    // Without the re-ranking part: ranked by the codes, and said so.
    server
        .files
        .remove(&g.rerank.file_name(simsong::index::parts::PartKind::Rerank));
    let mut parted = server.open();
    let outcome = server
        .search(&mut parted, SearchRequest::similar_to_track("t000001", 10))
        .unwrap();
    assert!(outcome.approximate);
    assert_eq!(outcome.reranked, 0);
    assert_eq!(outcome.hits.len(), 10);
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.contains("Re-ranking was not possible") && n.contains("parts/rerank-")),
        "{:?}",
        outcome.notes
    );
    // Without the id shards, a track search cannot know its reference: it fails, naming one.
    let ids: Vec<String> = server
        .files
        .keys()
        .filter(|n| n.starts_with("parts/ids-"))
        .cloned()
        .collect();
    for name in ids {
        server.files.remove(&name);
    }
    let mut parted = server.open();
    let e = server
        .search(&mut parted, SearchRequest::similar_to_track("t000001", 10))
        .unwrap_err();
    assert!(e.to_string().contains("parts/ids-"), "{e}");
    // An embedding search still works.
    let v = index.embedding(3);
    let outcome = server
        .search(&mut parted, SearchRequest::similar_to_embedding(v, 5))
        .unwrap();
    assert_eq!(outcome.hits[0].hit.id, "t000003");
}

#[path = "../fuzz/fuzz_targets/parts_fixture.rs"]
mod parts_fixture;

#[test]
fn the_fuzz_fixture_searches_cleanly() {
    // The fuzz targets (fuzz/fuzz_targets/parts_*.rs) start from this index: it must work
    // unchanged, so that what they find comes from the fuzzed bytes.
    let fx = parts_fixture::fixture();
    let server = Server {
        files: fx.files.clone(),
        manifest: fx.manifest.to_json(),
    };
    let mut index = server.open();
    let hits = server
        .search(&mut index, SearchRequest::similar_to_track("t105", 5))
        .unwrap();
    assert!(
        hits.notes.is_empty() && hits.hits.len() == 5,
        "{:?}",
        hits.notes
    );
    assert_eq!(
        index.manifest().live_tracks(),
        69,
        "60 + 12 added − 3 removed"
    );
    let all = server
        .search(&mut index, SearchRequest::similar_to_track("t105", 100))
        .unwrap();
    assert_eq!(all.hits.len(), 68, "every live track but the reference");
    assert!(
        all.hits
            .iter()
            .all(|h| ![1, 7, 30].contains(&h.hit.position))
    );
    parts_fixture::exercise(
        &fx.manifest.to_json(),
        &parts_fixture::Files::new(&fx.files),
    );
}

/// Writes the fuzz targets' seeds: `cargo test --release --features cli --test parts -- --ignored`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    use simsong::index::parts::{ENVELOPE_LEN, PartKind};
    let fx = parts_fixture::fixture();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let write = |target: &str, name: &str, bytes: Vec<u8>| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    write("parts_manifest", "index.json", fx.manifest.to_json());
    let payload = |kind, g| fx.part(kind, g)[ENVELOPE_LEN..].to_vec();
    for (target, kind) in [
        ("parts_codes", PartKind::Codes),
        ("parts_filters", PartKind::Filters),
        ("parts_meta", PartKind::Meta),
        ("parts_ids", PartKind::Ids),
    ] {
        for g in 0..2u8 {
            write(
                target,
                &format!("g{g}.bin"),
                [vec![g], payload(kind, g as usize)].concat(),
            );
        }
    }
    write(
        "parts_neighbours",
        "lists.bin",
        [vec![0], payload(PartKind::Neighbours, 1)].concat(),
    );
    for g in 0..2u8 {
        write(
            "parts_rows",
            &format!("rerank-g{g}.bin"),
            [vec![g], payload(PartKind::Rerank, g as usize)].concat(),
        );
        write(
            "parts_rows",
            &format!("segments-g{g}.bin"),
            [vec![g | 2], payload(PartKind::Segments, g as usize)].concat(),
        );
    }
}
