//! Any bytes given to the audio front end (decode, downmix, resample, log-mel, patches) give
//! features or an error. Seeds: fuzz/seeds/audio_decode (small WAV, MP3, Ogg, FLAC, M4A files).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use simsong::AnalysisParams;
use simsong::frontend::FrontEnd;

fn front() -> &'static FrontEnd {
    static FRONT: OnceLock<FrontEnd> = OnceLock::new();
    FRONT.get_or_init(|| {
        FrontEnd::new(AnalysisParams::CURRENT)
            .unwrap()
            .with_max_patches(8)
    })
}

fuzz_target!(
    init: {
        // `decode_source` catches symphonia's panics and reports them as corrupt audio (see
        // src/audio/decode.rs), so libfuzzer-sys's abort-on-any-panic hook is replaced by a
        // silent one. A panic anywhere else still unwinds into libfuzzer-sys, which aborts.
        let _ = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
    // The first byte picks the extension hint, as a dropped file's name would.
    let Some((&hint, bytes)) = data.split_first() else {
        return;
    };
    let ext = ["wav", "mp3", "ogg", "flac", "m4a", "bin"][hint as usize % 6];
    let _ = front().features_from_bytes(bytes.to_vec(), Some(ext));
});
