//! Any bytes given to the index loader give an index or an error: never a panic, a hang or a
//! huge allocation. Seeds: fuzz/seeds/index_loader (a real index and damaged variants).
#![no_main]

use libfuzzer_sys::fuzz_target;
use simsong::CatalogIndex;
use simsong::index::format::{FORMAT_VERSION, MAGIC, checksum};

fuzz_target!(|data: &[u8]| {
    // As given (mostly stopped by the checksum) ...
    let _ = CatalogIndex::from_bytes(data);
    // ... and wrapped in a valid header and checksum, so the decoder itself sees the bytes.
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&(data.len() as u64).to_le_bytes());
    file.extend_from_slice(&checksum(data));
    file.extend_from_slice(data);
    if let Ok(index) = CatalogIndex::from_bytes(&file) {
        // Whatever loads must also search and write without panicking.
        if let Some(first) = index.tracks().first() {
            let id = first.id.clone();
            let _ = simsong::search(&index, &simsong::SearchRequest::similar_to_track(&id, 5));
        }
        let _ = index.to_bytes();
    }
});
