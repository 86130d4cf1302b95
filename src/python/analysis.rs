//! `Analysis`: one input's track embedding, segments and head probabilities, as NumPy arrays.

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::py_error;
use crate::embed::TrackAnalysis;

/// What the engine says about one input.
#[pyclass(frozen, module = "simsong._simsong", name = "Analysis")]
pub struct Analysis {
    inner: TrackAnalysis,
    /// Length of one segment (patch), in seconds.
    segment_seconds: f64,
}

impl Analysis {
    pub(super) fn new(mut inner: TrackAnalysis, segment_seconds: f64) -> Self {
        // The display picture is for the browser; `simsong.log_mel` gives it at full size.
        inner.overview.mel = crate::mel::MelSpectrogram::from_frames(1, Vec::new());
        Analysis {
            inner,
            segment_seconds,
        }
    }
}

#[pymethods]
impl Analysis {
    /// The track embedding: float32 `(dim,)`, L2-normalised mean of the segments.
    #[getter]
    fn embedding<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, &self.inner.embedding)
    }

    /// Segment embeddings: float32 `(segments, dim)`, L2-normalised, in time order.
    #[getter]
    fn segment_embeddings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let dim = self.inner.embedding.len();
        let n = self.inner.segments.len();
        let flat: Vec<f32> = self
            .inner
            .segments
            .iter()
            .flat_map(|s| s.embedding.iter().copied())
            .collect();
        Ok(PyArray1::from_vec(py, flat).reshape([n, dim])?.into_any())
    }

    /// Where each segment starts, in seconds from the start: float64 `(segments,)`.
    #[getter]
    fn segment_starts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let starts: Vec<f64> = self
            .inner
            .segments
            .iter()
            .map(|s| s.start_seconds)
            .collect();
        PyArray1::from_vec(py, starts)
    }

    /// Length of one segment, in seconds.
    #[getter]
    fn segment_seconds(&self) -> f64 {
        self.segment_seconds
    }

    /// Each head's mean class probabilities over the track: `{head: float32 (classes,)}`.
    #[getter]
    fn head_probabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for head in &self.inner.heads {
            dict.set_item(&head.output, PyArray1::from_slice(py, &head.probabilities))?;
        }
        Ok(dict)
    }

    /// Each head's class names: `{head: [class, …]}`, in the order of its probabilities.
    #[getter]
    fn head_classes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for head in &self.inner.heads {
            dict.set_item(&head.output, &head.classes)?;
        }
        Ok(dict)
    }

    /// The tempo: `{"bpm": float or None when unclear, "confidence": 0–1, "candidate_bpm":
    /// float, "sections": [(start s, end s, bpm), …] where it changes}`.
    #[getter]
    fn tempo<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = &self.inner.tempo;
        let dict = PyDict::new(py);
        dict.set_item("bpm", t.clear_bpm())?;
        dict.set_item("confidence", t.confidence)?;
        dict.set_item("candidate_bpm", t.bpm)?;
        let sections: Vec<(f64, f64, f32)> = t
            .sections
            .iter()
            .map(|s| (s.start_seconds, s.end_seconds, s.bpm))
            .collect();
        dict.set_item("sections", sections)?;
        Ok(dict)
    }

    /// Duration of the decoded audio, in seconds.
    #[getter]
    fn duration_seconds(&self) -> f64 {
        self.inner.source.duration_seconds()
    }

    /// The source's sample rate, in Hz.
    #[getter]
    fn sample_rate_hz(&self) -> u32 {
        self.inner.source.sample_rate_hz
    }

    /// The source's channel count.
    #[getter]
    fn channels(&self) -> usize {
        self.inner.source.channels
    }

    /// The codec the decoder found (`"pcm"` for PCM handed in).
    #[getter]
    fn codec(&self) -> &str {
        &self.inner.source.codec
    }

    /// The embedding of the part `[start, end)` seconds of the track: the mean of its segments
    /// there, L2-normalised, as the browser's "part of a song" search computes it.
    fn embedding_between<'py>(
        &self,
        py: Python<'py>,
        start: f64,
        end: f64,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let (embedding, _) = self
            .inner
            .embedding_between(self.segment_seconds, start, end)
            .map_err(py_error)?;
        Ok(PyArray1::from_vec(py, embedding))
    }

    fn __repr__(&self) -> String {
        format!(
            "<simsong.Analysis {:.1} s, {} segments, {}-d>",
            self.inner.source.duration_seconds(),
            self.inner.segments.len(),
            self.inner.embedding.len()
        )
    }
}
