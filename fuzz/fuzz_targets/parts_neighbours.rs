//! Any bytes as the neighbours part (fixed-size lists read by range, each checked on its own),
//! then searched by catalog track: answers or errors, never a panic (see
//! `parts_fixture::fuzz_part`). Seeds: fuzz/seeds/parts_neighbours.
#![no_main]

#[path = "parts_fixture.rs"]
mod parts_fixture;

use libfuzzer_sys::fuzz_target;
use simsong::index::parts::PartKind;

fuzz_target!(|data: &[u8]| parts_fixture::fuzz_part(PartKind::Neighbours, data));
