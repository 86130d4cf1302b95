//! Any bytes as a metadata shard (track metadata, segment counts and checksums): the first byte picks the generation and shard, the rest is the payload,
//! wrapped in a valid envelope and named in the manifest with its true size and checksum, so the
//! decoder and every check after it see the bytes. Then the index is searched, browsed and
//! looked up: answers or errors, never a panic. Seeds: fuzz/seeds/parts_meta.
#![no_main]

#[path = "parts_fixture.rs"]
mod parts_fixture;

use libfuzzer_sys::fuzz_target;
use simsong::index::parts::PartKind;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, payload)) = data.split_first() else { return };
    let fx = parts_fixture::fixture();
    let g = (pick & 1) as usize;
    let shards = match PartKind::Meta {
        PartKind::Meta => fx.manifest.generations[g].meta.len(),
        PartKind::Ids => fx.manifest.generations[g].ids.len(),
        _ => 1,
    };
    let s = (pick >> 1) as usize % shards.max(1);
    let envelope = fx.manifest.envelope(PartKind::Meta, g as u32);
    let bytes = if pick & 0x80 != 0 { payload.to_vec() } else { envelope.wrap(payload) };
    let (manifest, files) = fx.with_part(PartKind::Meta, g, s, bytes);
    parts_fixture::exercise(&manifest.to_json(), &files);
});
