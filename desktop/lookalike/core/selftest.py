"""The installed-copy self test: does this Lookalike, as shipped, find the demo duplicates?

An installer can drop a file, miss a shared library or bundle the wrong model
without any unit test noticing, because the tests run from the source tree. This
runs the real pipeline on the copy that is installed: model checksum, ONNX
session, the bundled sample photos scanned into a throwaway catalog, and the
duplicate groups that `resources/samples/make_copies.py` planted. It touches no
user data. No Qt here: the window check lives in `lookalike.commands.selftest`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lookalike.core.paths import resources_dir

#: Sample photos that must end up in one group, why, and the group kinds that may
#: hold them (see resources/samples/make_copies.py for how each copy was made).
#: Review collapses tiers (an identical copy is not shown again as a duplicate),
#: so a pair counts as together when groups of those kinds chain them.
STRICT = ("identical", "duplicate")
EXPECTED_GROUPS: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("identical copy", frozenset({"astronaut.jpg", "astronaut (copy).jpg"}), ("identical",)),
    ("half-size re-encode", frozenset({"chelsea.jpg", "chelsea_small.jpg"}), STRICT),
    ("crop", frozenset({"coffee.jpg", "coffee_cropped.jpg"}), STRICT),
    ("sideways with EXIF orientation", frozenset({"rocket.jpg", "rocket_rotated.jpg"}), STRICT),
    # Right at the duplicate threshold (cosine ~0.90): a duplicate or at least similar.
    ("greyscale", frozenset({"rocket.jpg", "rocket_gray.png"}), (*STRICT, "similar")),
)
KINDS = ("identical", "duplicate", "similar")
#: A photo of which no copy was made: it must not be in any group.
UNIQUE = "hubble_deep_field.jpg"
#: Sample files that are documentation or tooling, not photos.
_NOT_PHOTOS = ("*.py", "*.md", "__pycache__")


@dataclass
class Check:
    """One line of the self test: what was checked, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str
    seconds: float = 0.0


@dataclass
class SelftestReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


class CheckFailed(Exception):
    """Raised inside a check to fail it with a sentence a person can act on."""


class Selftest:
    """Runs the checks in order; a check whose prerequisite failed is skipped, not crashed."""

    def __init__(self, on_check: Callable[[Check], None] | None = None) -> None:
        self.report = SelftestReport()
        self._on_check = on_check

    def check(self, name: str, action: Callable[[], str]) -> bool:
        """Run `action` (returns the detail line); any exception fails the check."""
        start = time.perf_counter()
        try:
            detail, ok = action(), True
        except CheckFailed as exc:
            detail, ok = str(exc), False
        except Exception as exc:  # noqa: BLE001 - a self test reports every failure
            detail, ok = f"{type(exc).__name__}: {exc}", False
        self.add(Check(name, ok, detail, round(time.perf_counter() - start, 3)))
        return ok

    def skip(self, name: str, reason: str) -> None:
        self.add(Check(name, False, f"not run: {reason}"))

    def add(self, check: Check) -> None:
        self.report.checks.append(check)
        if self._on_check:
            self._on_check(check)


def run_core_checks(selftest: Selftest, device: str = "auto", workers: int = 2) -> None:
    """Model, embedder, sample scan and duplicate groups (in a temporary folder), and the code scan."""
    from lookalike.core.engines.embedder import Embedder
    from lookalike.core.engines.manifest import default_manifest_path, load_manifest

    state: dict[str, Any] = {}

    def model() -> str:
        manifest = load_manifest(default_manifest_path())
        manifest.verify()
        state["manifest"] = manifest
        return f"{manifest.name} sha256 {manifest.sha256[:12]}… matches ({manifest.file})"

    def embedder() -> str:
        emb = Embedder(state["manifest"], device=device)  # type: ignore[arg-type]
        state["embedder"] = emb
        return f"provider {emb.provider}, {emb.dim}-d vectors"

    if not selftest.check("model", model):
        selftest.skip("embedder", "no usable model")
    elif selftest.check("embedder", embedder):
        _scan_samples(selftest, state, workers)
    selftest.check("codes", _check_codes)


def _scan_samples(selftest: Selftest, state: dict[str, Any], workers: int) -> None:
    """The bundled samples copied, scanned into a throwaway catalog and grouped."""
    with _temporary_folder() as tmp:

        def samples() -> str:
            source = resources_dir() / "samples"
            if not source.is_dir():
                raise CheckFailed(f"sample photos not found at {source}")
            shutil.copytree(source, tmp / "photos", ignore=shutil.ignore_patterns(*_NOT_PHOTOS))
            count = sum(1 for p in (tmp / "photos").rglob("*") if p.is_file())
            return f"{count} photos copied from {source}"

        def scan() -> str:
            state["catalog"], detail = _scan(tmp, state["embedder"], workers)
            return detail

        def groups() -> str:
            return _check_groups(state["catalog"], state["embedder"].model_id)

        try:
            if selftest.check("samples", samples) and selftest.check("scan", scan):
                selftest.check("duplicates", groups)
        finally:
            if "catalog" in state:
                state["catalog"].close()


def _check_codes() -> str:
    """A large library's index lives in faiss, a compiled library the installer must carry (the
    samples are too few to reach it): random vectors, each of which must find itself among the
    codes a person's search scans and in the HNSW graph the library-wide searches walk, where a
    removed one must never be found."""
    import numpy as np

    from lookalike.core.engines.codes import CANDIDATES, CodeScan
    from lookalike.core.engines.links import SEED, LinkGraph

    rows = np.random.default_rng(0).standard_normal((max(2 * CANDIDATES, 2 * SEED), 32)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    keys = np.arange(len(rows), dtype=np.int64)
    scan = CodeScan(32, threads=2)  # two parts, scanned side by side
    scan.add(keys, rows)
    found = scan.candidates(rows[:20], 1)[:, 0]
    if not np.array_equal(found, keys[:20]):
        raise CheckFailed(f"the code scan found {int((found == keys[:20]).sum())} of 20 vectors' own codes")
    graph = LinkGraph(32, threads=2)  # past SEED: both threads insert
    graph.add(keys, rows)
    graph.remove(keys[:1])
    walked = graph.search(rows[:20], 1, expansion=64)[:, 0]
    if walked[0] == keys[0] or not np.array_equal(walked[1:], keys[1:20]):
        raise CheckFailed(f"the HNSW graph found {int((walked[1:] == keys[1:20]).sum())} of 19 vectors, removed {keys[0]}: {walked[0]}")
    return f"{len(rows):,} vectors coded and scanned, and walked in their HNSW graph: each found itself, a removed one never"


def _scan(tmp: Path, embedder: Any, workers: int) -> tuple[Any, str]:
    try:
        from lookalike.core.scan.pipeline import Scanner
    except ImportError as exc:
        raise CheckFailed(f"the scanner cannot be imported ({exc})") from exc
    from lookalike.core.catalog.store import Catalog

    # Its own folder: the scanner never enters the catalog's folder.
    catalog = Catalog(tmp / "catalog" / "selftest.sqlite")
    report = Scanner(catalog, embedder, workers=workers).run([tmp / "photos"])
    expected = sum(1 for p in (tmp / "photos").rglob("*") if p.is_file())
    ids, _vectors = catalog.vectors(embedder.model_id)
    if len(ids) != expected or getattr(report, "errors", 0):
        catalog.close()
        raise CheckFailed(f"{len(ids)} of {expected} photos were embedded ({_describe(report)})")
    return catalog, f"{len(ids)} photos embedded ({_describe(report)})"


def _check_groups(catalog: Any, model_id: str) -> str:
    try:
        from lookalike.core.review.tiers import find_groups
    except ImportError as exc:
        raise CheckFailed(f"the review module cannot be imported ({exc})") from exc

    found = {kind: [_names(g) for g in find_groups(catalog, model_id, kind)] for kind in KINDS}  # type: ignore[arg-type]
    problems = expectation_problems(found)
    if problems:
        seen = "; ".join(f"{kind}: " + " | ".join(", ".join(sorted(g)) for g in groups) for kind, groups in found.items())
        raise CheckFailed("; ".join(problems) + f" (groups found: {seen})")
    counts = ", ".join(f"{len(found[kind])} {kind}" for kind in KINDS)
    return f"{counts} groups; all {len(EXPECTED_GROUPS)} planted copies found, {UNIQUE} left alone"


def expectation_problems(found: dict[str, list[frozenset[str]]]) -> list[str]:
    """What is wrong with the groups found (file names per kind), as sentences; empty if nothing."""
    problems = []
    for why, names, kinds in EXPECTED_GROUPS:
        if not _chained(names, [g for kind in kinds for g in found.get(kind, [])]):
            problems.append(f"{' + '.join(sorted(names))} ({why}) not grouped as {' or '.join(kinds)}")
    if any(UNIQUE in group for groups in found.values() for group in groups):
        problems.append(f"{UNIQUE} has no copy but was grouped")
    return problems


def _chained(names: frozenset[str], groups: list[frozenset[str]]) -> bool:
    """True when overlapping groups connect all of `names`."""
    reached = {next(iter(names))}
    grew = True
    while grew:
        grew = False
        for group in groups:
            if group & reached and not group <= reached:
                reached |= group
                grew = True
    return names <= reached


def _names(group: Any) -> frozenset[str]:
    return frozenset(Path(member.file.path).name for member in group.members)


def _describe(report: Any) -> str:
    """A short summary of a ScanReport without depending on its exact fields."""
    parts = [f"{name} {getattr(report, name)}" for name in ("new", "embedded", "errors") if hasattr(report, name)]
    for path, reason in getattr(report, "unreadable", [])[:3]:
        parts.append(f"unreadable {Path(path).name}: {reason}")
    if getattr(report, "elapsed", None):
        parts.append(f"{report.elapsed:.1f} s")
    return ", ".join(parts) or type(report).__name__


@contextmanager
def _temporary_folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lookalike-selftest-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def process_age() -> float | None:
    """Seconds since this process was started (by the OS), or None where unknown.

    Startup time must include the interpreter and the bundle's own unpacking, which
    happen before any of our code runs, so it is read from the kernel: Linux gives
    the start time in clock ticks since boot (10 ms resolution).
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return None
    # Field 22 (starttime); split after the ")" closing the command name, which may hold spaces.
    start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


def describe_environment() -> str:
    """Where this copy runs from: a PyInstaller bundle, or a Python install."""
    bundle = getattr(sys, "_MEIPASS", None)
    where = f"bundle {bundle}" if bundle else f"python {sys.executable}"
    from lookalike import __version__

    return f"lookalike {__version__}, {where}, resources {resources_dir()}"
