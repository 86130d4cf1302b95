//! Any bytes given to the model loader give a model or an error. Seeds: fuzz/seeds/model_loader
//! (the fixture models).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = simsong::Engine::from_model_bytes(data);
});
