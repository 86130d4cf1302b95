"""simsong: similar-song search, the same engine as the browser build and the ``simsong`` CLI.

Audio is decoded, resampled and turned into log-mel patches by the Rust front end, then embedded
by the shipped CNN (or a model you load); embeddings are bit-for-bit those of the CLI and within
1e-5 of the browser's WebAssembly build.

    >>> import simsong
    >>> engine = simsong.Engine()                      # the shipped model
    >>> a = engine.embed("song.mp3")                   # a path, bytes, or (samples, rate)
    >>> a.embedding.shape, a.segment_embeddings.shape  # (dim,), (segments, dim)

Every analysis releases the GIL, so threads sharing one ``Engine`` run in parallel.
Errors are :class:`SimsongError` (a ``ValueError``) with the CLI's message.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _simsong
from ._simsong import Analysis, SimsongError, count_tracks, merge_index, version_groups

__all__ = [
    "ANALYSIS",
    "Analysis",
    "Engine",
    "SimsongError",
    "build_index",
    "check",
    "count_tracks",
    "merge_index",
    "version_groups",
    "__version__",
]

__version__: str = _simsong.__version__

#: The analysis numbers this build computes with (sample rate in Hz, FFT and hop in samples,
#: mel bands, patch frames, …): the ones every model and index must carry.
ANALYSIS: Dict[str, Any] = json.loads(_simsong.analysis_params_json())

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Tuple[Any, int]]


def _split(source: Source) -> Tuple[str, Any, Optional[int]]:
    """(kind, value, sample rate) for the Rust layer: a path, encoded bytes or PCM."""
    if isinstance(source, (str, os.PathLike)):
        return "path", os.fspath(source), None
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "bytes", bytes(source), None
    if isinstance(source, tuple) and len(source) == 2:
        samples, rate = source
        array = np.asarray(samples, dtype=np.float32)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise SimsongError(
                f"PCM must be shaped (frames,) or (frames, channels), not {array.shape}"
            )
        if not isinstance(rate, (int, np.integer)) or rate <= 0:
            raise SimsongError(f"the sample rate must be a positive whole number of Hz, not {rate!r}")
        return "pcm", np.ascontiguousarray(array), int(rate)
    raise TypeError(
        "audio must be a path, encoded bytes, or (samples, sample_rate_hz); "
        f"got {type(source).__name__}"
    )


class Engine:
    """One model and its front end. Thread-safe; analyses release the GIL.

    ``model`` is a path to an ONNX (or NNEF) model file, its bytes, or ``None`` for the shipped
    model built into the wheel. A model trained for other analysis numbers is refused.
    """

    def __init__(self, model: Union[None, str, "os.PathLike[str]", bytes] = None) -> None:
        if isinstance(model, (str, os.PathLike)):
            with open(model, "rb") as f:
                model = f.read()
        self._engine = _simsong.Engine(model)
        #: The model's metadata: name, embedding size, heads and their classes, analysis numbers.
        self.model: Dict[str, Any] = json.loads(self._engine.model_json)
        #: The model's SHA-256 (hex), as indexes record it.
        self.model_sha256: str = self._engine.model_sha256

    @property
    def embedding_dim(self) -> int:
        """Values per embedding."""
        return int(self.model["embedding_dim"])

    def embed(self, source: Source, *, format: Optional[str] = None) -> Analysis:
        """Analyses one input: a path, an encoded file's bytes (``format``, e.g. ``"mp3"``, is
        a hint only) or ``(samples, sample_rate_hz)`` with samples shaped ``(frames,)`` or
        ``(frames, channels)``, full scale ±1. Returns an :class:`Analysis`."""
        kind, value, rate = _split(source)
        if kind == "path":
            return self._engine.analyze_path(value)
        if kind == "bytes":
            return self._engine.analyze_bytes(value, format)
        return self._engine.analyze_pcm(value, rate)

    def log_mel(self, source: Source, *, format: Optional[str] = None) -> np.ndarray:
        """The input's log-mel spectrogram at the model's sample rate: float32 ``(frames,
        n_mels)``, one frame per hop (``ANALYSIS["hop_length"]`` samples), the recording's own
        level (the picture the browser draws, at full resolution)."""
        kind, value, rate = _split(source)
        return self._engine.log_mel(kind, value, format, rate)

    def patches(
        self, source: Source, *, format: Optional[str] = None, max_patches: Optional[int] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The model's input for an input, exactly as the browser computes it: float32
        ``(patches, n_mels, patch_frames)``, loudness-normalised and compressed, and each
        patch's start in seconds. Long inputs are sampled evenly down to ``max_patches``
        (default: the engine's limit)."""
        kind, value, rate = _split(source)
        return self._engine.patches(kind, value, format, rate, max_patches)


def build_index(
    manifest: Union[str, "os.PathLike[str]"],
    out: Union[str, "os.PathLike[str]"],
    *,
    engine: Optional[Engine] = None,
    shard: Optional[Tuple[int, int]] = None,
    threads: int = 0,
    precision: str = "f32",
    code_bytes: int = 32,
) -> Dict[str, Any]:
    """Indexes the tracks of ``manifest`` (``.csv``/``.tsv``/``.json``, as ``simsong index
    build --manifest`` reads it, or a folder of audio) into ``out``: ``*.idx`` writes one file,
    anything else a published folder (codebooks trained with ``code_bytes`` per track).

    ``shard=(i, n)`` indexes only the i-th of n contiguous shares into a one-file shard, for
    :func:`merge_index`; the shares merged in order equal the whole build. ``threads=0`` uses
    every core. Files that cannot be analysed do not stop the build: they are listed in the
    result's ``failures`` as ``(audio path, message)``, the message being the CLI's.
    Returns ``tracks``, ``failures``, ``audio_seconds``, ``wall_seconds``, ``threads`` and
    ``bytes_written``."""
    engine = engine if engine is not None else Engine()
    return _simsong.build_index(
        engine._engine,
        os.fspath(manifest),
        os.fspath(out),
        shard=shard,
        threads=threads,
        precision=precision,
        code_bytes=code_bytes,
    )


def check(
    catalog: Union[str, "os.PathLike[str]"],
    path: Union[str, "os.PathLike[str]"],
    *,
    engine: Optional[Engine] = None,
    candidates: int = 50,
) -> Dict[str, Any]:
    """Whether the audio file at ``path`` is a version of a track of the one-file index
    ``catalog`` (a cut-down, a loop, a re-encoding, a little faster or higher), as ``simsong
    check`` says: ``is_version``; ``versions``, best first, each ``{id, title, upload_is_part,
    score, timbre, tempo_ratio, pitch_semitones, upload_span, track_span, cosine}`` (spans in
    seconds; ``upload_is_part``: the upload lies in the catalog track rather than the other way
    round); ``nearest``: ``(id, cosine)`` of the nearest catalog track by embedding.
    ``engine`` must hold the model that built the index (the shipped one by default)."""
    engine = engine if engine is not None else Engine()
    return _simsong.check(engine._engine, os.fspath(catalog), os.fspath(path), candidates=candidates)
