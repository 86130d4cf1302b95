//! Any bytes as a stored fingerprint (what the version audit and `simsong check` read from a
//! one-file index, whose checksum a tampered file can carry): an error or a fingerprint, never
//! a panic or an allocation out of proportion; a fingerprint that reads is compared with itself,
//! as the audit would. Seeds: fuzz/seeds/fingerprint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simsong::versions::{Fingerprint, compare};

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = Fingerprint::from_bytes(data) {
        let _ = compare(&f, &f);
    }
});
