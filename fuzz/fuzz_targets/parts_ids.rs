//! Any bytes as a generation's id buckets (fixed-size, each with its own checksum), read by
//! range, then looked up: answers or errors, never a panic (see `parts_fixture::fuzz_part`). Seeds:
//! fuzz/seeds/parts_ids.
#![no_main]

#[path = "parts_fixture.rs"]
mod parts_fixture;

use libfuzzer_sys::fuzz_target;
use simsong::index::parts::PartKind;

fuzz_target!(|data: &[u8]| parts_fixture::fuzz_part(PartKind::Ids, data));
