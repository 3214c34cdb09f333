"""Turn photos into L2-normalised vectors with an ONNX model (CUDA when it really works).

onnxruntime-gpu silently falls back to the CPU when CUDA is unusable, so the
provider reported here is read back from the session, never assumed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

import numpy as np
import onnxruntime as ort

from lookalike.core.engines.manifest import ModelManifest

Device = Literal["auto", "cpu", "cuda"]
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class EmbedderError(Exception):
    """The model cannot run as asked (missing file, CUDA unavailable, bad output)."""


def default_threads() -> int:
    """Leave one core to the UI and the decoders: a desktop app must stay responsive."""
    return max(1, (os.cpu_count() or 2) - 1)


class Embedder:
    """One ONNX session plus the preprocessing its manifest describes."""

    def __init__(self, manifest: ModelManifest, device: Device = "auto", threads: int | None = None) -> None:
        manifest.verify()
        self.manifest = manifest
        ort.set_default_logger_severity(4)  # a failed CUDA probe is our report to make, not a stderr dump
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        # Idle ONNX threads would otherwise busy-wait between runs and starve the UI thread.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # CUDA probing failures are reported by us, not printed
        wanted = [CPU] if device == "cpu" else [CUDA, CPU]
        if device == "cuda" and CUDA not in ort.get_available_providers():
            raise EmbedderError(
                "CUDA was requested but this onnxruntime has no CUDA provider "
                "(install onnxruntime-gpu on a machine with an NVIDIA GPU)"
            )
        available = [p for p in wanted if p in ort.get_available_providers()]
        self.session = ort.InferenceSession(str(manifest.file), options, providers=available)
        self.provider = self.session.get_providers()[0]
        if device == "cuda" and self.provider != CUDA:
            raise EmbedderError(
                "CUDA was requested but could not be initialised (no GPU, or CUDA/cuDNN "
                "libraries missing); use --device cpu or auto"
            )
        mean = np.asarray(manifest.mean, dtype=np.float32).reshape(1, 3, 1, 1)
        std = np.asarray(manifest.std, dtype=np.float32).reshape(1, 3, 1, 1)
        self._mean, self._inv_std = mean, 1.0 / std

    @property
    def model_id(self) -> str:
        return self.manifest.model_id

    @property
    def input_size(self) -> tuple[int, int]:
        return self.manifest.input_size

    @property
    def dim(self) -> int:
        return self.manifest.dim

    def embed(self, images: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """Vectors (N x dim, float32, unit length) for upright RGB uint8 images at input size."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = [self._run(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
        return np.concatenate(out)

    def _run(self, images: Sequence[np.ndarray]) -> np.ndarray:
        batch = np.stack(images).astype(np.float32).transpose(0, 3, 1, 2)
        batch = (batch - self._mean) * self._inv_std
        (vectors,) = self.session.run([self.manifest.output_name], {self.manifest.input_name: batch})
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(images), -1)
        if vectors.shape[1] != self.dim:
            raise EmbedderError(f"model output has {vectors.shape[1]} values, manifest says {self.dim}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
