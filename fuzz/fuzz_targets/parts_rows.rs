//! Any bytes as the rows fetched by range: re-ranking rows or segment rows. The bytes are cut to
//! the part's size, and the checksums that guard them (in the search part, in the metadata
//! shards) are recomputed, so the rows reach the code that scores them. Then the index is
//! searched: answers or errors (a non-finite scale, say), never a panic. Seeds:
//! fuzz/seeds/parts_rows.
#![no_main]

#[path = "parts_fixture.rs"]
mod parts_fixture;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use parts_fixture::{Ops, exercise_index};
use simsong::index::parted::PartedIndex;
use simsong::index::parts::manifest::{PartFile, rerank_row_bytes, segment_row_bytes};
use simsong::index::parts::meta::{MetaShard, build_part, read_shards};
use simsong::index::parts::search::SearchPart;
use simsong::index::parts::{
    ENVELOPE_LEN, PartKind, block_checksum, checksum_hex, decode_payload, encode_payload,
    range_seed,
};

/// The fixture's search part and metadata shards of each generation, decoded once (each input
/// recomputes their checksums over its rows).
fn decoded() -> &'static Vec<(SearchPart, Vec<MetaShard>)> {
    static DECODED: OnceLock<Vec<(SearchPart, Vec<MetaShard>)>> = OnceLock::new();
    DECODED.get_or_init(|| {
        let fx = parts_fixture::fixture();
        (0..fx.manifest.generations.len())
            .map(|g| {
                let search = fx.part(PartKind::Search, g);
                let m = &fx.manifest;
                let seed = range_seed(&m.index_id_bytes());
                let shards = m.meta_shards(&m.generations[g]);
                let meta = read_shards(fx.part(PartKind::Meta, g), shards, seed, g as u32, "meta")
                    .unwrap()
                    .into_iter()
                    .map(|(_, shard)| shard)
                    .collect();
                (
                    decode_payload(&search[ENVELOPE_LEN..], "search").unwrap(),
                    meta,
                )
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rows)) = data.split_first() else {
        return;
    };
    let fx = parts_fixture::fixture();
    let g = (pick & 1) as usize;
    let m = &fx.manifest;
    let generation = &m.generations[g];
    let env = |kind| m.envelope(kind, g as u32);
    let (search, shards) = &decoded()[g];
    let (manifest, files) = if pick & 2 == 0 {
        // Re-ranking rows, and the block checksums of the search part.
        let width = rerank_row_bytes(parts_fixture::DIM);
        let mut payload = rows.to_vec();
        payload.resize(generation.tracks as usize * width, 0);
        let mut search = search.clone();
        search.rerank_checksums = payload
            .chunks(m.layout.rerank_block_rows as usize * width)
            .map(block_checksum)
            .collect();
        let (mut manifest, mut files) =
            fx.with_part(PartKind::Rerank, g, env(PartKind::Rerank).wrap(&payload));
        let part = env(PartKind::Search).wrap(&encode_payload(&search).unwrap());
        let entry = PartFile {
            bytes: part.len() as u64,
            xxh3: checksum_hex(&part),
        };
        files.insert(entry.file_name(PartKind::Search), part);
        manifest.generations[g].search = entry;
        (manifest, files)
    } else {
        // Segment rows, and the per-track checksums of the metadata shards.
        let width = segment_row_bytes(parts_fixture::DIM);
        let total = (generation.segments.bytes as usize - ENVELOPE_LEN) / width;
        let mut payload = rows.to_vec();
        payload.resize(total * width, 0);
        let (mut manifest, mut files) =
            fx.with_part(PartKind::Segments, g, env(PartKind::Segments).wrap(&payload));
        let shards: Vec<MetaShard> = shards
            .iter()
            .map(|shard| {
                let mut shard = shard.clone();
                for i in 0..shard.tracks.len() {
                    let (first, count) = shard.segment_rows(i);
                    let range = first as usize * width..(first + count) as usize * width;
                    shard.segment_checksums[i] = block_checksum(&payload[range]);
                }
                shard
            })
            .collect();
        let seed = range_seed(&m.index_id_bytes());
        let part = env(PartKind::Meta).wrap(&build_part(&shards, seed, g as u32).unwrap());
        let entry = PartFile {
            bytes: part.len() as u64,
            xxh3: checksum_hex(&part),
        };
        files.insert(entry.file_name(PartKind::Meta), part);
        manifest.generations[g].meta = entry;
        (manifest, files)
    };
    exercise_index(
        PartedIndex::from_manifest(manifest),
        &files,
        Ops::reading(PartKind::Rerank),
    );
});
