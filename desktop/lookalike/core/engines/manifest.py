"""The small JSON file that describes an ONNX image embedder, so any model can be used.

A manifest names the ONNX file, its checksum and exactly how pixels become model
input; the embedder needs nothing else. See models/README.md for the format.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from lookalike.core.paths import models_dir

DEFAULT_MODEL = "efficientnet_lite0"


class ManifestError(Exception):
    """A manifest that is missing, malformed, or whose model file does not match it."""


@dataclass(frozen=True, slots=True)
class ModelManifest:
    name: str
    file: Path
    sha256: str
    input_name: str
    input_size: tuple[int, int]  # height, width
    resize: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output_name: str
    dim: int
    licence: str = ""

    @property
    def model_id(self) -> str:
        """Identifies the vectors this model makes: a change of weights re-embeds."""
        return f"{self.name}:{self.sha256[:12]}"

    def verify(self) -> None:
        """Raise `ManifestError` unless the ONNX file exists and matches its checksum."""
        if not self.file.is_file():
            raise ManifestError(f"model file not found: {self.file}")
        if file_sha256(self.file) != self.sha256:
            raise ManifestError(f"model file {self.file} does not match the manifest's sha256")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest(path: Path | str) -> ModelManifest:
    """Read a manifest; its `file` is resolved relative to the manifest's folder."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        height, width = (int(v) for v in data["input_size"])
        return ModelManifest(
            name=str(data["name"]),
            file=(path.parent / data["file"]).resolve(),
            sha256=str(data["sha256"]).lower(),
            input_name=str(data.get("input_name", "input")),
            input_size=(height, width),
            resize=str(data.get("resize", "squash")),
            mean=_triple(data["mean"]),
            std=_triple(data["std"]),
            output_name=str(data.get("output_name", "embedding")),
            dim=int(data["dim"]),
            licence=str(data.get("licence", "")),
        )
    except FileNotFoundError as exc:
        raise ManifestError(f"model manifest not found: {path}") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"invalid model manifest {path}: {exc}") from exc


def default_manifest_path(name: str = DEFAULT_MODEL) -> Path:
    """The manifest of a shipped model, by name."""
    return models_dir() / f"{name}.json"


def _triple(values: object) -> tuple[float, float, float]:
    items = [float(v) for v in values]  # type: ignore[union-attr]
    if len(items) != 3:
        raise ValueError("mean and std need three values (R, G, B)")
    return items[0], items[1], items[2]


def manifest_for(choice: str) -> ModelManifest:
    """The manifest a setting or `--model` names: a shipped model by name, or any manifest
    file by path (ending in .json). One rule for the CLI and the app."""
    return load_manifest(Path(choice) if choice.endswith(".json") else default_manifest_path(choice))
