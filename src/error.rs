//! The crate's error type: every failure a user can cause has a variant with a clear message.

use thiserror::Error;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between audio bytes and an embedding.
#[derive(Debug, Error)]
pub enum Error {
    /// The input holds no bytes at all.
    #[error("the file is empty")]
    EmptyInput,
    /// The container or codec is not one we decode (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A).
    #[error("unsupported or unrecognised audio format: {0}")]
    UnsupportedFormat(String),
    /// The data is recognised but cannot be decoded.
    #[error("the audio data is corrupt: {0}")]
    CorruptAudio(String),
    /// Decoding worked but produced no samples.
    #[error("the file contains no audio samples")]
    NoAudio,
    /// The audio is too quiet everywhere to say anything about it.
    #[error("the audio is silent (peak level {peak_dbfs:.0} dBFS): nothing to compare")]
    Silent {
        /// Peak absolute sample level, in dB relative to full scale.
        peak_dbfs: f32,
    },
    /// Sample rate, channel count or length outside what the product accepts.
    #[error("unsupported audio: {0}")]
    AbsurdAudio(String),
    /// PCM handed in directly contains NaN or infinite samples.
    #[error(
        "the PCM contains {count} non-finite (NaN or infinite) samples, the first at index {first}"
    )]
    NonFiniteSamples {
        /// Number of non-finite samples.
        count: usize,
        /// Index of the first one, in samples.
        first: usize,
    },
    /// The resampler refused the conversion.
    #[error("resampling failed: {0}")]
    Resample(String),
    /// Analysis numbers that this code cannot compute.
    #[error("invalid analysis parameters: {0}")]
    InvalidParams(String),
    /// A model or an index was built with different analysis numbers.
    #[error("{what} was built for different analysis numbers: expected {expected}, found {found}")]
    ParamsMismatch {
        /// What was loaded (e.g. "model foo.onnx").
        what: String,
        /// The numbers this build uses, as JSON.
        expected: String,
        /// The numbers found in the file, as JSON.
        found: String,
    },
    /// The bytes are not a usable ONNX model for this product.
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// Running the model failed.
    #[error("model inference failed: {0}")]
    Inference(String),
    /// The bytes are not a usable index: truncated, tampered with, or inconsistent.
    #[error("invalid index: {0}")]
    InvalidIndex(String),
    /// The index was written by a newer build with a format this one cannot read.
    #[error(
        "the index has format version {found}, this build reads version {supported}: update the widget or rebuild the index"
    )]
    IndexVersion {
        /// Version found in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The index's embeddings come from another model than the one loaded.
    #[error(
        "the index was built with model {index_model}, but the loaded model is {loaded_model}: rebuild the index or load the matching model"
    )]
    IndexModelMismatch {
        /// Name and short hash of the model that built the index.
        index_model: String,
        /// Name and short hash of the loaded model.
        loaded_model: String,
    },
    /// One part of a published (multi-part) index is missing, damaged, from another build, or
    /// could not be fetched. `part` names the file.
    #[error("catalog part {part}: {problem}")]
    IndexPart {
        /// The part's file name (e.g. `parts/search-1a2b….bin`).
        part: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A published index needs parts that are not loaded yet (a caller bug: fetch them first).
    #[error("the catalog part {0} is needed but not loaded")]
    PartNotLoaded(String),
    /// A search names a track id the index does not hold.
    #[error("no track with id `{0}` in the index")]
    UnknownTrack(String),
    /// A search request that cannot be answered as asked.
    #[error("invalid search: {0}")]
    InvalidQuery(String),
    /// A catalog manifest, or a catalog build, that cannot go ahead (native only): the message
    /// names the file and what is wrong.
    #[error("{0}")]
    Catalog(String),
    /// Reading a file failed (native only: in wasm the variant does not exist, which keeps
    /// `std::io::Error`'s messages, 1.3 kB, out of the search module).
    #[cfg(not(target_arch = "wasm32"))]
    #[error("{path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

#[cfg(not(target_arch = "wasm32"))]
impl Error {
    /// A failed read or write of `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

#[cfg(feature = "analysis")]
/// The message of a caught panic (`std::panic::catch_unwind`'s payload), for error reports.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("unknown reason")
}
