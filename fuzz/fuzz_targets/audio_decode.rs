//! Any bytes given to the audio front end (decode, downmix, resample, log-mel, patches) give
//! features or an error. Seeds: fuzz/seeds/audio_decode (small WAV, MP3, Ogg, FLAC, M4A files).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use simsong::AnalysisParams;
use simsong::frontend::FrontEnd;

fn front() -> &'static FrontEnd {
    static FRONT: OnceLock<FrontEnd> = OnceLock::new();
    FRONT.get_or_init(|| FrontEnd::new(AnalysisParams::CURRENT).unwrap().with_max_patches(8))
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the extension hint, as a dropped file's name would.
    let Some((&hint, bytes)) = data.split_first() else {
        return;
    };
    let ext = ["wav", "mp3", "ogg", "flac", "m4a", "bin"][hint as usize % 6];
    let _ = front().features_from_bytes(bytes.to_vec(), Some(ext));
});
