"""Print the runtime requirements of Lookalike for one packaging variant, one per line.

The project depends on onnxruntime-gpu on Linux/Windows x86-64 (it runs on the CPU
too), but that wheel is ~255 MB and useless without CUDA. Installers are built
twice: the default "cpu" variant swaps it for the ~20 MB plain `onnxruntime`
(both install the same `onnxruntime` module, so never both), the "gpu" variant
keeps it. Reading pyproject.toml keeps this list from drifting away from the
project's own.

    python packaging/requirements.py [cpu|gpu] > requirements.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
#: Name of a requirement: everything before a version, marker or extra.
_NAME = re.compile(r"^\s*([A-Za-z0-9._-]+)")


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    if not match:
        raise ValueError(f"cannot read the package name of {requirement!r}")
    return match.group(1).lower().replace("_", "-")


def requirements(variant: str = "cpu", pyproject: Path = PYPROJECT) -> list[str]:
    """The project's dependencies with onnxruntime chosen for `variant`."""
    if variant not in ("cpu", "gpu"):
        raise ValueError(f"variant must be cpu or gpu, not {variant!r}")
    deps: list[str] = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    out: list[str] = []
    runtime = None
    for dep in deps:
        name = requirement_name(dep)
        if name in ("onnxruntime", "onnxruntime-gpu"):
            if name == "onnxruntime-gpu":
                # Keep its version floor; drop its platform marker (we build for this platform).
                runtime = dep.split(";")[0].strip()
            continue
        out.append(dep)
    runtime = runtime or "onnxruntime-gpu>=1.20"
    if variant == "cpu" or sys.platform == "darwin":  # no CUDA build exists for macOS
        runtime = runtime.replace("onnxruntime-gpu", "onnxruntime")
    out.append(runtime)
    return out


def main(argv: list[str]) -> int:
    variant = argv[1] if len(argv) > 1 else "cpu"
    print("\n".join(requirements(variant)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
