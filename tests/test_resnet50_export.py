"""The ResNet-50 path of models/export.py, end to end: export, then load it as the app does.

A randomly initialised torchvision ResNet-50 stands in for real weights: what is
checked is the file and manifest the script writes, not what the vectors mean.
torch and torchvision are never dependencies of the app, so this skips without them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lookalike.core.engines.embedder import Embedder
from lookalike.core.engines.manifest import load_manifest

REPO = Path(__file__).resolve().parent.parent

torchvision = pytest.importorskip(
    "torchvision", reason="torchvision is not installed: only re-exporting a model needs it (models/README.md)"
)
torch = pytest.importorskip("torch")


def test_random_resnet50_exports_and_loads_in_the_embedder(tmp_path: Path) -> None:
    weights = tmp_path / "resnet50_random.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet50().state_dict(), weights)

    script = [sys.executable, str(REPO / "models" / "export.py"), "resnet50"]
    result = subprocess.run([*script, "--weights", str(weights), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "verify: batch 4 vs 4 x batch 1" in result.stdout  # onnxruntime agreed with torch

    manifest = load_manifest(tmp_path / "out" / "resnet50.json")
    assert manifest.dim == 2048 and manifest.input_size == (224, 224)
    assert manifest.resize == "center_crop"
    embedder = Embedder(manifest, device="cpu")
    assert isinstance(embedder.session.get_inputs()[0].shape[0], str), "the batch axis must be dynamic"
    pixels = np.random.default_rng(0).integers(0, 256, size=(3, 224, 224, 3), dtype=np.uint8)
    vectors = embedder.embed(list(pixels), batch_size=3)
    assert vectors.shape == (3, 2048)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embedder.embed(list(pixels[:1]), batch_size=1), vectors[:1], atol=1e-4)
