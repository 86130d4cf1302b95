//! Any bytes as the rows fetched by range: re-ranking rows or segment rows. The bytes are cut to
//! the part's size, and the checksums that guard them (each re-ranking block's own, those of the
//! metadata shards) are recomputed, so the rows reach the code that scores them. Then the index is
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
use simsong::index::parts::{
    ENVELOPE_LEN, PartKind, block_checksum, checksum_hex, range_seed, rerank,
};

/// The fixture's metadata shards of each generation, decoded once (each input recomputes their
/// checksums over its rows).
fn decoded() -> &'static Vec<Vec<MetaShard>> {
    static DECODED: OnceLock<Vec<Vec<MetaShard>>> = OnceLock::new();
    DECODED.get_or_init(|| {
        let fx = parts_fixture::fixture();
        (0..fx.manifest.generations.len())
            .map(|g| {
                let m = &fx.manifest;
                let seed = range_seed(&m.index_id_bytes());
                let shards = m.meta_shards(&m.generations[g]);
                read_shards(fx.part(PartKind::Meta, g), shards, seed, g as u32, "meta")
                    .unwrap()
                    .into_iter()
                    .map(|(_, shard)| shard)
                    .collect()
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
    let shards = &decoded()[g];
    let seed = range_seed(&m.index_id_bytes());
    let (manifest, files) = if pick & 2 == 0 {
        // Re-ranking rows, in blocks with their own checksums.
        let dim = parts_fixture::DIM;
        let mut payload = rows.to_vec();
        payload.resize(generation.tracks as usize * rerank_row_bytes(dim), 0);
        let blocks = rerank::build_part(&payload, m.layout.rerank_block_rows as usize, dim, seed);
        fx.with_part(PartKind::Rerank, g, env(PartKind::Rerank).wrap(&blocks))
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
