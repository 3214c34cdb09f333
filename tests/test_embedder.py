"""The shipped model: checksum, providers, batching, and a custom manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from lookalike.core.embedder import CPU, CUDA, Embedder, EmbedderError
from lookalike.core.images import decode
from lookalike.core.manifest import ManifestError, ModelManifest, default_manifest_path, file_sha256, load_manifest


def test_onnx_file_matches_manifest_checksum(manifest: ModelManifest) -> None:
    assert file_sha256(manifest.file) == manifest.sha256
    assert manifest.dim == 1280 and manifest.input_size == (224, 224)


def test_cpu_provider_is_reported(embedder: Embedder) -> None:
    assert embedder.provider == CPU
    assert embedder.session.get_providers()[0] == CPU


def test_idle_threads_do_not_spin(embedder: Embedder) -> None:
    """Busy-waiting ONNX threads between runs would starve the UI thread."""
    options = embedder.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_cuda_request_without_cuda_is_a_clear_error(manifest: ModelManifest) -> None:
    probe = Embedder(manifest, device="auto")
    if probe.provider == CUDA:
        pytest.skip("this machine really has CUDA")
    with pytest.raises(EmbedderError, match="CUDA"):
        Embedder(manifest, device="cuda")


def test_vectors_are_unit_length(embedder: Embedder, samples: Path) -> None:
    pixels = [decode(p, embedder.input_size).pixels for p in sorted(samples.glob("*.jpg"))]
    vectors = embedder.embed(pixels)
    assert vectors.shape == (len(pixels), 1280) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batch_of_one_equals_batch_of_64(embedder: Embedder, samples: Path) -> None:
    paths = sorted(samples.rglob("*.jpg"))
    pixels = [decode(paths[i % len(paths)], embedder.input_size).pixels for i in range(64)]
    together = embedder.embed(pixels, batch_size=64)
    alone = np.stack([embedder.embed([p], batch_size=1)[0] for p in pixels])
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_copies_are_closer_than_other_photos(embedder: Embedder, samples: Path) -> None:
    names = ["chelsea.jpg", "copies/chelsea_small.jpg", "coffee.jpg", "copies/coffee_cropped.jpg"]
    v = embedder.embed([decode(samples / n, embedder.input_size).pixels for n in names])
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
    assert v[2] @ v[3] > v[2] @ v[1] + 0.3


def test_shipped_lite2_search_model_is_intact_and_keeps_copies_closest(samples: Path) -> None:
    """The alternative model (models/README.md, "efficientnet_lite2"): another file, size and
    pooling than the default, loaded by name as `--model efficientnet_lite2` does."""
    lite2 = load_manifest(default_manifest_path("efficientnet_lite2"))
    assert file_sha256(lite2.file) == lite2.sha256
    assert lite2.dim == 1280 and lite2.input_size == (384, 384)
    embedder = Embedder(lite2, device="cpu")
    names = ["chelsea.jpg", "copies/chelsea_small.jpg", "coffee.jpg", "copies/coffee_cropped.jpg"]
    v = embedder.embed([decode(samples / n, embedder.input_size).pixels for n in names], batch_size=2)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
    assert v[2] @ v[3] > v[2] @ v[1] + 0.3
    np.testing.assert_allclose(embedder.embed([decode(samples / names[0], embedder.input_size).pixels])[0], v[0], atol=1e-4)


def _write_manifest(source: ModelManifest, folder: Path, **changes: object) -> Path:
    shutil.copyfile(source.file, folder / source.file.name)
    data = {
        "name": source.name, "file": source.file.name, "sha256": source.sha256,
        "input_name": source.input_name, "input_size": list(source.input_size),
        "resize": source.resize, "mean": list(source.mean), "std": list(source.std),
        "output_name": source.output_name, "dim": source.dim,
    }
    data.update(changes)
    path = folder / "custom.json"
    path.write_text(json.dumps(data))
    return path


def test_any_model_described_by_a_manifest_loads(manifest: ModelManifest, tmp_path: Path) -> None:
    custom = load_manifest(_write_manifest(manifest, tmp_path, name="my_model"))
    assert custom.model_id != manifest.model_id
    assert Embedder(custom, device="cpu").dim == 1280


def test_wrong_checksum_or_dimension_is_refused(manifest: ModelManifest, tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="sha256"):
        Embedder(load_manifest(_write_manifest(manifest, tmp_path, sha256="0" * 64)))
    wrong_dim = Embedder(load_manifest(_write_manifest(manifest, tmp_path, dim=512)), device="cpu")
    with pytest.raises(EmbedderError, match="1280"):
        wrong_dim.embed([np.zeros((224, 224, 3), dtype=np.uint8)])


def test_malformed_manifest_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ManifestError):
        load_manifest(bad)
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "absent.json")


def test_onnxruntime_offers_cpu() -> None:
    assert CPU in ort.get_available_providers()
