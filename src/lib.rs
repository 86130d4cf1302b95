//! Similar-song search that runs entirely in the browser (and natively, with the same numbers).
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! audio bytes ─[audio]─▶ mono PCM at 16 kHz ─[mel]─▶ log-mel ─[patches]─▶ 3 s patches
//!             ─[model]─▶ per-patch embeddings ─[embed]─▶ track embedding ─[index, search]─▶ ranking
//! ```
//!
//! - [`params`]: the analysis numbers everything must agree on.
//! - [`audio`]: decoding (symphonia), downmixing and resampling (rubato), streamed.
//! - [`mel`]: librosa-compatible mel spectrogram (realfft).
//! - [`patches`]: model-sized patches and a display-sized spectrogram, in bounded memory.
//! - [`frontend`]: the above chained: bytes or PCM → [`frontend::Features`].
//! - [`model`]: the ONNX CNN run with tract, validated against [`params`].
//! - [`embed`]: [`Engine`], front end + model → [`TrackAnalysis`].
//! - [`tempo`]: beats per minute and a confidence, from the front end's mel frames.
//! - [`index`]: the catalog index ([`CatalogIndex`]) and its checksummed file format.
//! - [`search`]: cosine top-k with filters, several references and best segments.
//! - [`browse`]: pages of a published index that pass a filter, and its tracks by id.
//! - [`versions`]: whether one track's audio is in another's (landmark fingerprints).
//!
//! - [`catalog`] (native, `catalog` feature): manifests of a store's tracks, analysed into an
//!   index whole or a share at a time, and the index files.
//!
//! Without the default `analysis` feature only [`params`], [`index`], [`search`] and the
//! tempo codes and filters are built: the search engine alone, which is the small wasm module
//! a page loads for searches by catalog track (no decoders, resampler, FFT or model).
//!
//! Thin layers sit on top: `wasm` (wasm-bindgen API, on `wasm32` only), `python` (the PyO3
//! module of the `simsong` wheel, `python` feature) and the `simsong` command-line tool
//! (`cli` feature).

#[cfg(feature = "analysis")]
pub mod audio;
pub mod browse;
#[cfg(all(feature = "catalog", not(target_arch = "wasm32")))]
pub mod catalog;
#[cfg(feature = "analysis")]
pub mod embed;
pub mod error;
#[cfg(feature = "analysis")]
pub mod frontend;
pub mod index;
#[cfg(feature = "analysis")]
pub mod mel;
#[cfg(feature = "analysis")]
pub mod model;
pub mod params;
#[cfg(feature = "analysis")]
pub mod patches;
pub mod search;
pub mod tempo;
#[cfg(feature = "analysis")]
pub mod versions;

#[cfg(all(feature = "python", not(target_arch = "wasm32")))]
mod python;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

#[cfg(feature = "analysis")]
pub use embed::{Engine, HeadSummary, Segment, TrackAnalysis};
pub use error::{Error, Result};
pub use index::{CatalogIndex, TrackMeta};
pub use params::AnalysisParams;
pub use search::{SearchHit, SearchRequest, search};
