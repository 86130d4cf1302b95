//! Any bytes as the codes part of the base or of the delta generation (its cell table, removed
//! tracks, cell checksums and codes), read by range as a first search reads its cells and then
//! whole as a page reads it at idle, then searched, browsed and looked up: answers or errors,
//! never a panic (see `parts_fixture::fuzz_part`). Seeds: fuzz/seeds/parts_codes.
#![no_main]

#[path = "parts_fixture.rs"]
mod parts_fixture;

use libfuzzer_sys::fuzz_target;
use simsong::index::parts::PartKind;

fuzz_target!(|data: &[u8]| parts_fixture::fuzz_part(PartKind::Codes, data));
