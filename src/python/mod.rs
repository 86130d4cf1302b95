//! The `simsong._simsong` extension module of the Python wheel (PyO3, `python` feature): the
//! same engine as the CLI and the browser, with arrays as NumPy arrays.
//!
//! This layer is thin on purpose: it converts arguments and results and releases the GIL
//! around every analysis, so Python threads analyse in parallel. The friendly API (paths,
//! bytes or `(samples, rate)` in one `embed`) is `python/simsong/__init__.py`.

mod analysis;
mod catalog;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::embed::Engine as RustEngine;
use crate::frontend::{Features, FrontEnd};
use crate::params::AnalysisParams;
use analysis::Analysis;

create_exception!(
    _simsong,
    SimsongError,
    PyValueError,
    "Audio, a model or an index the engine cannot use; the message is the CLI's."
);

/// Converts the crate's error into `SimsongError` with the same message the CLI prints.
pub(crate) fn py_error(e: crate::Error) -> PyErr {
    SimsongError::new_err(e.to_string())
}

/// An embedding engine holding one model (immutable, so threads share it).
#[pyclass(frozen, module = "simsong._simsong", name = "Engine")]
pub struct Engine {
    inner: RustEngine,
}

/// Where the audio comes from, once arguments are converted (so the GIL can be let go).
enum Input {
    Path(std::path::PathBuf),
    Bytes(Vec<u8>, Option<String>),
    Pcm(Vec<f32>, u32, usize),
}

impl Input {
    fn pcm(samples: PyReadonlyArray2<'_, f32>, sample_rate_hz: u32) -> Input {
        let channels = samples.shape()[1];
        // `to_vec` copies in C order whatever the array's strides.
        let interleaved = samples
            .as_slice()
            .map(<[f32]>::to_vec)
            .unwrap_or_else(|_| samples.as_array().iter().copied().collect());
        Input::Pcm(interleaved, sample_rate_hz, channels)
    }

    fn features(&self, front: &FrontEnd) -> crate::Result<Features> {
        match self {
            Input::Path(p) => front.features_from_path(p),
            Input::Bytes(b, ext) => front.features_from_bytes(b.clone(), ext.as_deref()),
            Input::Pcm(s, rate, ch) => front.features_from_pcm(s, *rate, *ch),
        }
    }
}

#[pymethods]
impl Engine {
    /// Loads a model from ONNX or NNEF bytes; `None` loads the shipped model built into the
    /// wheel.
    #[new]
    #[pyo3(signature = (model_bytes = None))]
    fn new(py: Python<'_>, model_bytes: Option<Vec<u8>>) -> PyResult<Engine> {
        let inner = py
            .detach(|| match &model_bytes {
                Some(bytes) => RustEngine::from_model_bytes(bytes),
                None => RustEngine::from_model_bytes(crate::model::SHIPPED_ONNX),
            })
            .map_err(py_error)?;
        Ok(Engine { inner })
    }

    /// The model's metadata as JSON (name, embedding size, heads, analysis numbers).
    #[getter]
    fn model_json(&self) -> PyResult<String> {
        serde_json::to_string(self.inner.model_metadata())
            .map_err(|e| SimsongError::new_err(e.to_string()))
    }

    /// The model's SHA-256, hex.
    #[getter]
    fn model_sha256(&self) -> &str {
        self.inner.model_sha256()
    }

    /// Analyses an audio file on disk (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A).
    fn analyze_path(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<Analysis> {
        self.analyze(py, Input::Path(path))
    }

    /// Analyses an encoded file's contents; `extension` (e.g. `"mp3"`) is a hint only.
    #[pyo3(signature = (data, extension = None))]
    fn analyze_bytes(
        &self,
        py: Python<'_>,
        data: Vec<u8>,
        extension: Option<String>,
    ) -> PyResult<Analysis> {
        self.analyze(py, Input::Bytes(data, extension))
    }

    /// Analyses PCM: float32 samples shaped `(frames, channels)`, full scale ±1, at
    /// `sample_rate_hz`.
    fn analyze_pcm(
        &self,
        py: Python<'_>,
        samples: PyReadonlyArray2<'_, f32>,
        sample_rate_hz: u32,
    ) -> PyResult<Analysis> {
        self.analyze(py, Input::pcm(samples, sample_rate_hz))
    }

    /// The model's input for an input: `(patches, n_mels, patch_frames)` float32 and the
    /// patches' start times in seconds. `kind` is `"path"`, `"bytes"` or `"pcm"`; see
    /// `simsong.patches`.
    #[pyo3(signature = (kind, source, extension = None, sample_rate_hz = None, max_patches = None))]
    fn patches<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        source: &Bound<'py, PyAny>,
        extension: Option<String>,
        sample_rate_hz: Option<u32>,
        max_patches: Option<usize>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<f64>>)> {
        let mut front = self.inner.front_end().clone();
        if let Some(n) = max_patches {
            front = front.with_max_patches(n);
        }
        let input = input_of(kind, source, extension, sample_rate_hz)?;
        let features = features_without_gil(py, &input, &front)?;
        let p = *self.inner.params();
        let starts: Vec<f64> = features
            .patches
            .iter()
            .map(|patch| patch.start_frame as f64 * p.hop_seconds())
            .collect();
        let n = features.patches.len();
        let flat: Vec<f32> = features
            .patches
            .into_iter()
            .flat_map(|patch| patch.data)
            .collect();
        let array = PyArray1::from_vec(py, flat).reshape([n, p.n_mels, p.patch_frames])?;
        Ok((array.into_any(), PyArray1::from_vec(py, starts)))
    }

    /// The input's log-mel spectrogram, `(frames, n_mels)` float32, one frame per hop: the
    /// picture the browser draws, at full resolution. See `simsong.log_mel`.
    #[pyo3(signature = (kind, source, extension = None, sample_rate_hz = None))]
    fn log_mel<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        source: &Bound<'py, PyAny>,
        extension: Option<String>,
        sample_rate_hz: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let front = self
            .inner
            .front_end()
            .clone()
            .with_overview_columns(usize::MAX);
        let input = input_of(kind, source, extension, sample_rate_hz)?;
        let features = features_without_gil(py, &input, &front)?;
        let mel = features.overview.mel;
        let (frames, n_mels) = (mel.n_frames(), mel.n_mels());
        let array = PyArray1::from_vec(py, mel.frames().to_vec()).reshape([frames, n_mels])?;
        Ok(array.into_any())
    }
}

impl Engine {
    fn analyze(&self, py: Python<'_>, input: Input) -> PyResult<Analysis> {
        let engine = &self.inner;
        let analysis = py
            .detach(|| {
                input
                    .features(engine.front_end())
                    .and_then(|f| engine.analyze_features(f))
            })
            .map_err(py_error)?;
        Ok(Analysis::new(analysis, engine.params().patch_seconds()))
    }
}

/// The front end's features of `input`, computed with the GIL let go.
fn features_without_gil(py: Python<'_>, input: &Input, front: &FrontEnd) -> PyResult<Features> {
    py.detach(|| input.features(front)).map_err(py_error)
}

fn input_of(
    kind: &str,
    source: &Bound<'_, PyAny>,
    extension: Option<String>,
    sample_rate_hz: Option<u32>,
) -> PyResult<Input> {
    Ok(match kind {
        "path" => Input::Path(source.extract()?),
        "bytes" => Input::Bytes(source.extract()?, extension),
        "pcm" => {
            let rate = sample_rate_hz
                .ok_or_else(|| SimsongError::new_err("PCM needs its sample rate in Hz"))?;
            Input::pcm(source.extract()?, rate)
        }
        other => {
            return Err(SimsongError::new_err(format!(
                "unknown input kind `{other}`"
            )));
        }
    })
}

/// The analysis numbers this build computes with, as JSON.
#[pyfunction]
fn analysis_params_json() -> String {
    serde_json::to_string(&AnalysisParams::CURRENT).expect("analysis numbers serialise")
}

/// The module: `Engine`, `Analysis`, the catalog functions and `SimsongError`.
#[pymodule(name = "_simsong")]
fn init_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("SimsongError", m.py().get_type::<SimsongError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Engine>()?;
    m.add_class::<Analysis>()?;
    m.add_function(wrap_pyfunction!(analysis_params_json, m)?)?;
    catalog::register(m)?;
    Ok(())
}
