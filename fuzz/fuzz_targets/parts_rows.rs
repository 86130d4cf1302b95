//! Any bytes as the rows fetched by range: re-ranking rows or segment rows. The bytes are cut to
//! the part's size, and the checksums that guard them (in the search part, in the metadata
//! shards) are recomputed, so the rows reach the code that scores them. Then the index is
//! searched: answers or errors (a non-finite scale, say), never a panic. Seeds:
//! fuzz/seeds/parts_rows.
#![no_main]

#[path = "parts_fixture.rs"]
mod parts_fixture;

use libfuzzer_sys::fuzz_target;
use simsong::index::parts::manifest::{rerank_row_bytes, segment_row_bytes};
use simsong::index::parts::meta::MetaShard;
use simsong::index::parts::search::SearchPart;
use simsong::index::parts::{ENVELOPE_LEN, PartKind, block_checksum, decode_payload, encode_payload};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rows)) = data.split_first() else { return };
    let fx = parts_fixture::fixture();
    let g = (pick & 1) as usize;
    let m = &fx.manifest;
    let generation = &m.generations[g];
    let env = |kind| m.envelope(kind, g as u32);
    if pick & 2 == 0 {
        // Re-ranking rows, and the block checksums of the search part.
        let width = rerank_row_bytes(parts_fixture::DIM);
        let mut payload = rows.to_vec();
        payload.resize(generation.tracks as usize * width, 0);
        let search_bytes = fx.part(PartKind::Search, g, 0);
        let mut search: SearchPart = decode_payload(&search_bytes[ENVELOPE_LEN..], "search").unwrap();
        search.rerank_checksums = payload
            .chunks(m.layout.rerank_block_rows as usize * width)
            .map(block_checksum)
            .collect();
        let (manifest, mut files) = fx.with_part(PartKind::Rerank, g, 0, env(PartKind::Rerank).wrap(&payload));
        let search_part = env(PartKind::Search).wrap(&encode_payload(&search).unwrap());
        let mut manifest = manifest;
        let entry = simsong::index::parts::manifest::PartFile {
            bytes: search_part.len() as u64,
            xxh3: simsong::index::parts::checksum_hex(&search_part),
        };
        files.insert(entry.file_name(PartKind::Search), search_part);
        manifest.generations[g].search = entry;
        parts_fixture::exercise(&manifest.to_json(), &files);
    } else {
        // Segment rows, and the per-track checksums of the metadata shards.
        let width = segment_row_bytes(parts_fixture::DIM);
        let total = (generation.segments.bytes as usize - ENVELOPE_LEN) / width;
        let mut payload = rows.to_vec();
        payload.resize(total * width, 0);
        let (mut manifest, mut files) = fx.with_part(PartKind::Segments, g, 0, env(PartKind::Segments).wrap(&payload));
        for s in 0..generation.meta.len() {
            let bytes = fx.part(PartKind::Meta, g, s);
            let mut shard: MetaShard = decode_payload(&bytes[ENVELOPE_LEN..], "meta").unwrap();
            for i in 0..shard.tracks.len() {
                let (first, count) = shard.segment_rows(i);
                let range = first as usize * width..(first + count) as usize * width;
                shard.segment_checksums[i] = block_checksum(&payload[range]);
            }
            let part = env(PartKind::Meta).wrap(&encode_payload(&shard).unwrap());
            let entry = simsong::index::parts::manifest::PartFile {
                bytes: part.len() as u64,
                xxh3: simsong::index::parts::checksum_hex(&part),
            };
            files.insert(entry.file_name(PartKind::Meta), part);
            manifest.generations[g].meta[s] = entry;
        }
        parts_fixture::exercise(&manifest.to_json(), &files);
    }
});
