"""GPU mode: embedding on CUDA (fp32 and fp16 models) against the CPU, and a check
that the app picks CUDA by itself. Without a usable GPU the section records why
it measured nothing, and still checks that 'auto' falls back to the CPU.

The fp16 model is not shipped: `models/export.py efficientnet-lite0 --fp16`
writes one under build/models/; failing that, the shipped ONNX is converted here
when `onnx` (and so onnxruntime's float16 converter) is installed.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from bench import app, datasets
from bench.embed import decode_rate, embed_rate
from bench.machine import gpu_names
from bench.measure import isolated
from bench.throughput import cold_scan
from lookalike.core.engines.embedder import CUDA, Embedder
from lookalike.core.engines.manifest import default_manifest_path, file_sha256, load_manifest

FP16_DIR = datasets.REPO / "build" / "models"
#: Images embedded per GPU timing (devset photos repeated): enough batches to warm it up.
IMAGES = 1024
CPU_IMAGES = 256
GPU_BATCH = 64


def fp16_manifest() -> tuple[Path | None, str]:
    """(manifest of an fp16 model, how it was obtained), or (None, why there is none)."""
    shipped = load_manifest(default_manifest_path())
    target = FP16_DIR / f"{shipped.name}_fp16.json"
    if target.is_file():
        return target, "models/export.py --fp16"
    try:
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16
    except ImportError:
        return None, "no fp16 model: run models/export.py efficientnet-lite0 --fp16, or pip install onnx"
    FP16_DIR.mkdir(parents=True, exist_ok=True)
    model_path = target.with_suffix(".onnx")
    onnx.save(convert_float_to_float16(onnx.load(str(shipped.file)), keep_io_types=True), str(model_path))
    data = json.loads(default_manifest_path().read_text(encoding="utf-8"))
    data.update(name=f"{shipped.name}_fp16", file=model_path.name, sha256=file_sha256(model_path))
    target.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return target, "converted here (onnxruntime.transformers.float16, keep_io_types)"


def _agreement(manifest: Path, pixels: list[np.ndarray]) -> float:
    """Lowest cosine between fp32-on-CPU and fp16-on-GPU vectors of the same photos."""
    reference = app.embedder("cpu").embed(pixels[:GPU_BATCH])
    half = Embedder(load_manifest(manifest), "cuda").embed(pixels[:GPU_BATCH])
    return round(float((reference * half).sum(axis=1).min()), 5)


def run(big_folder: Path | None = None) -> dict[str, object]:
    available = ort.get_available_providers()
    auto = app.embedder("auto").provider
    out: dict[str, object] = {"gpus": gpu_names(), "providers_available": available, "auto_provider": auto, "auto_picks_cuda": auto == CUDA}
    if not out["gpus"] or auto != CUDA:
        why = "no GPU" if not out["gpus"] else f"CUDA unusable here ('auto' picked {auto})"
        return out | {"status": f"not measured: {why}"}
    _, decoded = decode_rate(datasets.photo_files(datasets.require_devset()), 2)
    pixels = [decoded[i % len(decoded)] for i in range(IMAGES)]
    cpu, _ = embed_rate(pixels[:CPU_IMAGES], None)
    fp32, provider = embed_rate(pixels, None, "cuda", batch=GPU_BATCH)
    out |= {
        "status": "measured",
        "provider": provider,
        "cpu_img_per_s": round(cpu, 1),
        "cuda_fp32_img_per_s": round(fp32, 1),
        "ratio_fp32_to_cpu": round(fp32 / cpu, 1),
    }
    manifest, how = fp16_manifest()
    out["fp16_source"] = how
    if manifest is not None:
        fp16, _ = embed_rate(pixels, None, "cuda", manifest, batch=GPU_BATCH)
        out |= {
            "cuda_fp16_img_per_s": round(fp16, 1),
            "ratio_fp16_to_cpu": round(fp16 / cpu, 1),
            "fp16_min_cosine_to_fp32": _agreement(manifest, pixels),
        }
    if big_folder is not None:  # end to end: with embedding on the GPU, decoding is left
        with tempfile.TemporaryDirectory(prefix="lookalike-gpu-") as tmp:
            scan, memory = isolated(cold_scan, str(big_folder), str(Path(tmp) / "gpu.sqlite"), 2)
        out["scan_12mp_2w"] = scan | memory
    return out
