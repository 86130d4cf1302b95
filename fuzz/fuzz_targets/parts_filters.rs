//! Any bytes as the filters part of the base or of the delta generation (tag posting lists,
//! tempo bytes), reaching the decoder and every check after it, then searched with a filter,
//! browsed and looked up: answers or errors, never a panic (see `parts_fixture::fuzz_part`).
//! Seeds: fuzz/seeds/parts_filters.
#![no_main]

#[path = "parts_fixture.rs"]
mod parts_fixture;

use libfuzzer_sys::fuzz_target;
use simsong::index::parts::PartKind;

fuzz_target!(|data: &[u8]| parts_fixture::fuzz_part(PartKind::Filters, data));
