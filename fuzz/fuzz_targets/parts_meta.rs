//! Any bytes as a metadata shard (track metadata, segment counts and checksums), reaching the decoder and every check after it, then browsed and
//! looked up: answers or errors, never a panic (see `parts_fixture::fuzz_part`). Seeds:
//! fuzz/seeds/parts_meta.
#![no_main]

#[path = "parts_fixture.rs"]
mod parts_fixture;

use libfuzzer_sys::fuzz_target;
use simsong::index::parts::PartKind;

fuzz_target!(|data: &[u8]| parts_fixture::fuzz_part(PartKind::Meta, data));
