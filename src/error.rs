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
        /// The numbers this build uses that differ, `name value` separated by commas.
        expected: String,
        /// The same numbers as found in the file.
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

impl Error {
    /// Every code [`Error::code`] returns, in declaration order. They are part of the API: the
    /// page's error events carry them (`www/protocol.js` `ErrorCode`, `www/similar-songs.d.ts`),
    /// so a code is never renamed, only added.
    pub const CODES: &'static [&'static str] = &[
        "empty-input",
        "unsupported-format",
        "corrupt-audio",
        "no-audio",
        "silent",
        "absurd-audio",
        "non-finite-samples",
        "resample",
        "invalid-params",
        "params-mismatch",
        "invalid-model",
        "inference",
        "invalid-index",
        "index-version",
        "index-model-mismatch",
        "index-part",
        "part-not-loaded",
        "unknown-track",
        "invalid-query",
        "catalog",
        "io",
    ];

    /// The error's stable code (one of [`Error::CODES`]): what a program branches on, where
    /// the message is for people and may be reworded.
    pub fn code(&self) -> &'static str {
        match self {
            Error::EmptyInput => "empty-input",
            Error::UnsupportedFormat(_) => "unsupported-format",
            Error::CorruptAudio(_) => "corrupt-audio",
            Error::NoAudio => "no-audio",
            Error::Silent { .. } => "silent",
            Error::AbsurdAudio(_) => "absurd-audio",
            Error::NonFiniteSamples { .. } => "non-finite-samples",
            Error::Resample(_) => "resample",
            Error::InvalidParams(_) => "invalid-params",
            Error::ParamsMismatch { .. } => "params-mismatch",
            Error::InvalidModel(_) => "invalid-model",
            Error::Inference(_) => "inference",
            Error::InvalidIndex(_) => "invalid-index",
            Error::IndexVersion { .. } => "index-version",
            Error::IndexModelMismatch { .. } => "index-model-mismatch",
            Error::IndexPart { .. } => "index-part",
            Error::PartNotLoaded(_) => "part-not-loaded",
            Error::UnknownTrack(_) => "unknown-track",
            Error::InvalidQuery(_) => "invalid-query",
            Error::Catalog(_) => "catalog",
            #[cfg(not(target_arch = "wasm32"))]
            Error::Io { .. } => "io",
        }
    }

    /// The error's structured fields, for programs (`details` of the page's error events):
    /// `(name, value)` pairs, names in camelCase; empty where the message is all there is.
    pub fn details(&self) -> Vec<(&'static str, Detail<'_>)> {
        let mut details = Vec::new();
        self.visit_details(&mut |name, value| details.push((name, value)));
        details
    }

    /// Calls `f` with each of [`Error::details`], without collecting them (the wasm bindings
    /// set them on a JS object: one small loop in the search module instead of a vector per
    /// variant).
    pub fn visit_details<'a>(&'a self, f: &mut dyn FnMut(&'static str, Detail<'a>)) {
        use Detail::{Number, Text};
        match self {
            // Only the analysis makes these two (the search module leaves their arms out).
            #[cfg(feature = "analysis")]
            Error::Silent { peak_dbfs } => f("peakDbfs", Number(f64::from(*peak_dbfs))),
            #[cfg(feature = "analysis")]
            Error::NonFiniteSamples { count, first } => {
                f("count", Number(*count as f64));
                f("first", Number(*first as f64));
            }
            Error::ParamsMismatch {
                what,
                expected,
                found,
            } => {
                f("what", Text(what));
                f("expected", Text(expected));
                f("found", Text(found));
            }
            Error::IndexVersion { found, supported } => {
                f("found", Number(f64::from(*found)));
                f("supported", Number(f64::from(*supported)));
            }
            Error::IndexModelMismatch {
                index_model,
                loaded_model,
            } => {
                f("indexModel", Text(index_model));
                f("loadedModel", Text(loaded_model));
            }
            Error::IndexPart { part, .. } | Error::PartNotLoaded(part) => f("part", Text(part)),
            Error::UnknownTrack(id) => f("id", Text(id)),
            #[cfg(not(target_arch = "wasm32"))]
            Error::Io { path, .. } => f("path", Text(path)),
            _ => {}
        }
    }
}

/// One value of [`Error::details`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Detail<'a> {
    /// A name, an id, a file.
    Text(&'a str),
    /// A count, an index or a level, in the unit the field's name says.
    Number(f64),
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

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_the_page_knows_it() {
        let samples = [
            Error::EmptyInput,
            Error::UnsupportedFormat(String::new()),
            Error::CorruptAudio(String::new()),
            Error::NoAudio,
            Error::Silent { peak_dbfs: -90.0 },
            Error::AbsurdAudio(String::new()),
            Error::NonFiniteSamples { count: 1, first: 0 },
            Error::Resample(String::new()),
            Error::InvalidParams(String::new()),
            Error::ParamsMismatch {
                what: String::new(),
                expected: String::new(),
                found: String::new(),
            },
            Error::InvalidModel(String::new()),
            Error::Inference(String::new()),
            Error::InvalidIndex(String::new()),
            Error::IndexVersion {
                found: 9,
                supported: 11,
            },
            Error::IndexModelMismatch {
                index_model: String::new(),
                loaded_model: String::new(),
            },
            Error::IndexPart {
                part: String::new(),
                problem: String::new(),
            },
            Error::PartNotLoaded(String::new()),
            Error::UnknownTrack(String::new()),
            Error::InvalidQuery(String::new()),
            Error::Catalog(String::new()),
            Error::io(
                std::path::Path::new("x"),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ),
        ];
        let codes: Vec<_> = samples.iter().map(Error::code).collect();
        assert_eq!(
            codes,
            Error::CODES,
            "CODES lists every variant's code, in order"
        );
        // The page's protocol module and the element's type declarations name every code.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for file in ["www/protocol.js", "www/similar-songs.d.ts"] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            for code in Error::CODES {
                assert!(
                    text.contains(&format!("'{code}'")),
                    "{file} lacks the code '{code}'"
                );
            }
        }
    }

    #[test]
    fn details_carry_the_fields() {
        let e = Error::IndexVersion {
            found: 9,
            supported: 11,
        };
        assert_eq!(
            e.details(),
            vec![
                ("found", Detail::Number(9.0)),
                ("supported", Detail::Number(11.0))
            ]
        );
        let e = Error::UnknownTrack("bgm-7".into());
        assert_eq!(e.details(), vec![("id", Detail::Text("bgm-7"))]);
        assert!(Error::NoAudio.details().is_empty());
    }
}
