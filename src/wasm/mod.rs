//! The WebAssembly API (wasm-bindgen), built as two modules from this crate
//! (`scripts/build-wasm.sh`):
//!
//! - **the search module** (`pkg/simsong_search.js`: no `analysis` feature, `search-bindings`):
//!   [`CatalogParts`], a published index and its search, browse and lookup jobs. A search by
//!   catalog track needs nothing else, so this is all a page loads for it.
//! - **the analysis module** (`pkg/simsong.js`, default features): [`SimilarityEngine`],
//!   decoding, the front end and the model (no index: a page holds one, in the search module),
//!   loaded only when a visitor brings a song of their own; its embedding is searched through the search module's `CatalogParts` as an
//!   `{ embedding }` reference (checked with `CatalogParts.checkModelHash`).
//!
//! ```js
//! import init, { SimilarityEngine } from './pkg/simsong.js';
//! await init();
//! const engine = new SimilarityEngine(new Uint8Array(await (await fetch('models/simsong.nnef.tar')).arrayBuffer()));
//! const a = engine.analyzeFile(new Uint8Array(await file.arrayBuffer()), file.name);
//! a.embedding;           // Float32Array, L2-normalised track embedding
//! a.melColumns;          // Float32Array, frame-major display spectrogram
//! ```
//! The worker fetches what a search job asks for and hands the bytes back (see
//! `www/engine-worker.js`). Errors are thrown as JS `Error`s whose message says what is wrong
//! with the input, with a stable `code` and structured `details` ([`JsFailure`]).

#[cfg(feature = "search-bindings")]
mod catalog;
#[cfg(feature = "analysis")]
mod engine;

#[cfg(feature = "search-bindings")]
pub use catalog::{BrowseJob, CatalogParts, LookupJob, SearchJob};
#[cfg(feature = "analysis")]
pub use engine::{Analysis, AnalysisJob, SimilarityEngine};

use wasm_bindgen::prelude::*;

use crate::params::AnalysisParams;

#[wasm_bindgen(start)]
fn start() {
    // A panic would be a bug; make it readable in the console instead of "unreachable". The
    // analysis module adds the stack (console_error_panic_hook); the search module, whose every
    // byte is on a page's first load, says the message and where.
    #[cfg(feature = "analysis")]
    console_error_panic_hook::set_once();
    #[cfg(not(feature = "analysis"))]
    std::panic::set_hook(Box::new(|info| {
        console_error(
            info.payload_as_str()
                .unwrap_or("a panic in the search module"),
        )
    }));
}

#[cfg(not(feature = "analysis"))]
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// An error as the page receives it: a JS `Error` whose `message` is for people, with a `code`
/// (one of [`crate::Error::CODES`], or `invalid-argument` for a call the bindings cannot read)
/// and `details` (the error's fields, [`crate::Error::details`]) for programs. The worker sends
/// all three on (`www/protocol.js`).
#[derive(Debug)]
pub struct JsFailure(JsValue);

impl JsFailure {
    fn new(message: &str, code: &str, details: js_sys::Object) -> Self {
        let error = js_sys::Error::new(message);
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&error, &"code".into(), &code.into());
        let _ = js_sys::Reflect::set(&error, &"details".into(), &details);
        JsFailure(error.into())
    }
}

impl From<crate::Error> for JsFailure {
    fn from(e: crate::Error) -> Self {
        let details = js_sys::Object::new();
        e.visit_details(&mut |name, value| {
            let value = match value {
                crate::error::Detail::Text(text) => JsValue::from_str(text),
                crate::error::Detail::Number(n) => JsValue::from_f64(n),
            };
            let _ = js_sys::Reflect::set(&details, &name.into(), &value);
        });
        JsFailure::new(&e.to_string(), e.code(), details)
    }
}

impl From<serde_wasm_bindgen::Error> for JsFailure {
    fn from(e: serde_wasm_bindgen::Error) -> Self {
        // An argument of the wrong shape (a caller bug), or a result that cannot cross.
        JsFailure::new(&e.to_string(), "invalid-argument", js_sys::Object::new())
    }
}

impl From<JsFailure> for JsValue {
    fn from(f: JsFailure) -> JsValue {
        f.0
    }
}

#[cfg(any(feature = "analysis", feature = "search-bindings"))]
fn js_error(e: crate::Error) -> JsFailure {
    JsFailure::from(e)
}

/// The analysis numbers compiled into this build, as a plain object.
#[wasm_bindgen(js_name = analysisParams)]
pub fn analysis_params() -> Result<JsValue, JsFailure> {
    Ok(serde_wasm_bindgen::to_value(&AnalysisParams::CURRENT)?)
}

#[cfg(feature = "analysis")]
/// Log-mel spectrogram (the model's input scale) of mono samples already at the analysis rate
/// (16 kHz), frame-major: `frames × n_mels` values. For display and benchmarks.
#[wasm_bindgen(js_name = logMelSpectrogram)]
pub fn log_mel_spectrogram(samples: &[f32]) -> Result<Vec<f32>, JsFailure> {
    let mel =
        crate::mel::log_mel_spectrogram(samples, &AnalysisParams::CURRENT).map_err(js_error)?;
    Ok(mel.frames().to_vec())
}

#[cfg(feature = "analysis")]
/// The tempo of mono samples already at the analysis rate (16 kHz), from their mel power
/// frames, without the model: `{ bpm, confidence, clear, sections }` as `Analysis.tempo`.
#[wasm_bindgen(js_name = tempoOfSamples)]
pub fn tempo_of_samples(samples: &[f32]) -> Result<JsValue, JsFailure> {
    let tempo =
        crate::tempo::tempo_of_samples(samples, &AnalysisParams::CURRENT).map_err(js_error)?;
    tempo_to_js(&tempo)
}

#[cfg(feature = "analysis")]
/// `{ bpm, confidence, clear, sections: [{ startSeconds, endSeconds, bpm }] }`; `clear` is
/// false when the onsets are not periodic enough to name a tempo.
fn tempo_to_js(t: &crate::tempo::TempoEstimate) -> Result<JsValue, JsFailure> {
    // Spelt out rather than `#[serde(flatten)]`: serde-wasm-bindgen turns a flattened struct
    // into a JS `Map`.
    #[derive(serde::Serialize)]
    struct Tempo<'a> {
        bpm: f32,
        confidence: f32,
        clear: bool,
        sections: &'a [crate::tempo::TempoSection],
    }
    let tempo = Tempo {
        bpm: t.bpm,
        confidence: t.confidence,
        clear: t.is_clear(),
        sections: &t.sections,
    };
    Ok(serde_wasm_bindgen::to_value(&tempo)?)
}

#[cfg(feature = "search-bindings")]
/// Plain JS objects (not `Map`s) for maps, so results can cross `postMessage` and be read with
/// dot syntax.
fn json_compatible() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::json_compatible()
}
