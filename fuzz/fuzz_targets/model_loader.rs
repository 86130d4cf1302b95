//! Any bytes given to the model loader give a model or an error. Seeds: fuzz/seeds/model_loader
//! (the fixture models).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        // `Model::from_bytes` catches tract's panics and reports an invalid model (see
        // src/model.rs), so libfuzzer-sys's abort-on-any-panic hook is replaced by a silent
        // one. A panic anywhere else still unwinds into libfuzzer-sys, which aborts.
        let _ = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        let _ = simsong::Engine::from_model_bytes(data);
    }
);
