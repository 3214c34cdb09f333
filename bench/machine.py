"""Which machine a figure was measured on: every result carries this, since a
throughput number without the cores and CPU behind it means nothing."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata

import psutil

_PACKAGES = ("numpy", "pillow", "onnxruntime-gpu", "onnxruntime", "usearch", "faiss-cpu", "imagehash", "sqlalchemy")


def cpu_model() -> str:
    """The first 'model name' of /proc/cpuinfo (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    """NVIDIA GPUs as `nvidia-smi -L` lists them; empty when there is none."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.startswith("GPU")]


def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def revision() -> str | None:
    """The code measured: `git describe --always --dirty` of the checkout, if it is one."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=20, check=False,
            cwd=os.path.dirname(os.path.abspath(__file__)),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def describe() -> dict[str, object]:
    """Cores, CPU model, memory, GPUs, load, code revision and library versions, as plain JSON data."""
    return {
        "revision": revision(),
        "cores": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "gpus": gpu_names(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "packages": _versions(),
    }


def one_line(machine: dict[str, object]) -> str:
    """'2 cores, AMD EPYC, 23 GiB, no GPU' for tables and headings."""
    gpus = machine.get("gpus") or []
    gpu = ", ".join(str(g).split(" (UUID")[0] for g in gpus) if gpus else "no GPU"  # type: ignore[union-attr]
    return f"{machine['cores']} cores, {machine['cpu_model']}, {machine['memory_gib']} GiB RAM, {gpu}"
