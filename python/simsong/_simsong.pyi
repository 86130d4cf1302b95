"""Type stubs of the Rust extension module (src/python/). Use the wrappers in ``simsong``."""

from os import PathLike
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class SimsongError(ValueError):
    """Audio, a model or an index the engine cannot use; the message is the CLI's."""

class Analysis:
    """What the engine says about one input."""

    @property
    def embedding(self) -> npt.NDArray[np.float32]:
        """Track embedding, ``(dim,)``, L2-normalised mean of the segments."""
    @property
    def segment_embeddings(self) -> npt.NDArray[np.float32]:
        """Segment embeddings, ``(segments, dim)``, L2-normalised, in time order."""
    @property
    def segment_starts(self) -> npt.NDArray[np.float64]:
        """Start of each segment, in seconds, ``(segments,)``."""
    @property
    def segment_seconds(self) -> float:
        """Length of one segment, in seconds."""
    @property
    def head_probabilities(self) -> Dict[str, npt.NDArray[np.float32]]:
        """Each head's mean class probabilities over the track, ``{head: (classes,)}``."""
    @property
    def head_classes(self) -> Dict[str, List[str]]:
        """Each head's class names, in the order of its probabilities."""
    @property
    def tempo(self) -> Dict[str, Any]:
        """``bpm`` (None when there is no clear tempo), ``confidence`` (0–1), ``candidate_bpm``
        and ``sections`` [(start s, end s, bpm)] where the tempo changes."""
    @property
    def duration_seconds(self) -> float:
        """Duration of the decoded audio, in seconds."""
    @property
    def sample_rate_hz(self) -> int:
        """The source's sample rate, in Hz."""
    @property
    def channels(self) -> int:
        """The source's channel count."""
    @property
    def codec(self) -> str:
        """The codec the decoder found."""
    def embedding_between(self, start: float, end: float) -> npt.NDArray[np.float32]:
        """Embedding of the part ``[start, end)`` seconds: mean of its segments, normalised."""

class Engine:
    def __init__(self, model_bytes: Optional[bytes] = None) -> None: ...
    @property
    def model_json(self) -> str: ...
    @property
    def model_sha256(self) -> str: ...
    def analyze_path(self, path: Union[str, PathLike[str]]) -> Analysis: ...
    def analyze_bytes(self, data: bytes, extension: Optional[str] = None) -> Analysis: ...
    def analyze_pcm(self, samples: npt.NDArray[np.float32], sample_rate_hz: int) -> Analysis: ...
    def patches(
        self,
        kind: str,
        source: Any,
        extension: Optional[str] = None,
        sample_rate_hz: Optional[int] = None,
        max_patches: Optional[int] = None,
    ) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]: ...
    def log_mel(
        self,
        kind: str,
        source: Any,
        extension: Optional[str] = None,
        sample_rate_hz: Optional[int] = None,
    ) -> npt.NDArray[np.float32]: ...

def analysis_params_json() -> str: ...
def build_index(
    engine: Engine,
    manifest: Union[str, PathLike[str]],
    out: Union[str, PathLike[str]],
    *,
    shard: Optional[Tuple[int, int]] = None,
    threads: int = 0,
    precision: str = "f32",
    max_segments: int = ...,
    code_bytes: int = 32,
) -> Dict[str, Any]:
    """Indexes a manifest (or a folder of audio), whole or one share ``(i, n)``, into ``out``
    (``.idx``: one file; else a published folder). Returns ``tracks``, ``failures`` ([(audio,
    message)]), ``audio_seconds``, ``wall_seconds``, ``threads`` and ``bytes_written``."""

def merge_index(
    inputs: Sequence[Union[str, PathLike[str]]],
    out: Union[str, PathLike[str]],
    *,
    code_bytes: int = 32,
) -> int:
    """Joins one-file shards, in order, into ``out`` as ``simsong index merge`` does; returns
    the number of tracks."""

def count_tracks(manifest: Union[str, PathLike[str]]) -> int:
    """How many tracks a manifest (or a folder of audio) lists."""
