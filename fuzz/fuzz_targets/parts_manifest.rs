//! Any bytes as the manifest of a published index (`index.json`): a parsed, checked manifest or
//! an error, and whatever parses must load its parts and search without a panic or a huge
//! allocation. Seeds: fuzz/seeds/parts_manifest (the fixture's manifest).
#![no_main]

#[path = "parts_fixture.rs"]
mod parts_fixture;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fx = parts_fixture::fixture();
    parts_fixture::exercise(data, &parts_fixture::Files::new(&fx.files));
});
