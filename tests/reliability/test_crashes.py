"""Crashes: `lookalike scan` SIGKILLed at random moments, then resumed, many times over.

After every kill the catalog must pass `PRAGMA integrity_check`; after every
resume each photo on disk is catalogued exactly once and the vector index holds
exactly the catalog's vectors. The photo folder changes between rounds (edited,
deleted, added and moved photos), so kills land in inserts, overwrites, moves
and missing-marking alike, not only in a first scan.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from lookalike.core.catalog import Catalog
from lookalike.core.embedder import Embedder
from lookalike.core.scan import Scanner
from reliability_tools import (
    assert_catalog_matches_disk,
    cli,
    integrity,
    kill_at,
    make_photos,
    rewrite_photo,
    scan_command,
)

KILLS = 30
SOAK_KILLS = 200
PHOTOS = 60


def _change_the_folder(root: Path, rng: random.Random, round_number: int) -> None:
    """Edit, delete, add and move a few photos: the next scan has real work to do."""
    photos = sorted(root.rglob("*.jpg"))
    for photo in rng.sample(photos, rng.randint(5, 20)):
        rewrite_photo(photo, rng.randrange(1 << 30))
    for photo in rng.sample(photos, 2):
        if photo.exists():
            photo.unlink()
    make_photos(root, 2, seed=1000 + round_number)
    survivors = [p for p in sorted(root.rglob("*.jpg")) if p.parent == root]
    moved = rng.choice(survivors)
    (root / "moved").mkdir(exist_ok=True)
    shutil.move(moved, root / "moved" / f"r{round_number}_{moved.name}")


def _phase_at_kill(stderr: bytes) -> str:
    """How far the killed scan got, from its progress lines."""
    text = stderr.decode("utf-8", "replace")
    for phase in ("finishing", "embedding", "walking"):
        if f"lookalike: {phase}" in text:
            return phase
    return "starting" if "model" not in text else "opening"


class _Killer:
    """Starts `lookalike scan` and SIGKILLs it at a random moment.

    A quarter of the kills land anywhere from the start (imports, opening and
    checking the catalog); the rest wait for the model line and land in the
    walk, the embedding or the writes, spread over how long the scan's work
    took when it last ran to the end (an estimate, never asserted on).
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.work = 2.0  # seconds after the model line, updated by scans that finish
        self.phases: Counter[str] = Counter()

    def run(self, command: list[str]) -> None:
        scan = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        early = self.rng.random() < 0.25
        if early:
            kill_at_or_end = time.monotonic() + self.rng.uniform(0.05, 2.5)
            first = b""
        else:
            first = scan.stderr.readline() if scan.stderr else b""  # "lookalike: model ... on CPU"
            kill_at_or_end = time.monotonic() + self.rng.uniform(0.0, self.work)
        started = time.monotonic()
        while time.monotonic() < kill_at_or_end and scan.poll() is None:
            time.sleep(0.005)
        finished = scan.poll() is not None
        if not finished:
            scan.kill()
        _, rest = scan.communicate()
        if finished and not early and scan.returncode == 0:
            self.work = 0.5 * self.work + 0.5 * (time.monotonic() - started)
        self.phases["completed" if finished else _phase_at_kill(first + rest)] += 1


def _kill_and_resume(tmp_path: Path, embedder: Embedder, kills: int, seed: int) -> Counter[str]:
    root = tmp_path / "photos"
    make_photos(root, PHOTOS)
    catalog_path = tmp_path / "catalog.sqlite"
    rng = random.Random(seed)
    killer = _Killer(rng)
    with Catalog(catalog_path) as catalog:
        for number in range(kills):
            if number:
                _change_the_folder(root, rng, number)
            if number % 6 == 5:
                # Also kill a reader that saves the vector index and the k-NN graph.
                reader = subprocess.Popen(cli(catalog_path, "duplicates", "--json"), stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
                kill_at(reader, rng.uniform(0.5, 3.0))
            killer.run(scan_command(catalog_path, root))

            assert integrity(catalog_path) == "ok", f"round {number}: catalog damaged by the kill"
            Scanner(catalog, embedder).run([root])  # the resume
            assert integrity(catalog_path) == "ok"
            assert_catalog_matches_disk(catalog, root, embedder.model_id, embedder.dim)
    return killer.phases


def test_sigkill_at_random_moments_then_resume(tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """`lookalike scan` SIGKILLed at random moments, resumed after each kill"""
    phases = _kill_and_resume(tmp_path, embedder, KILLS, seed=2024)
    print("kills by phase:", dict(phases), file=sys.stderr)
    record("crashes", f"SIGKILL of `lookalike scan` at {KILLS} random moments ({PHOTOS} photos, some edited, "
           "deleted, added and moved before each round; every 6th round also kills `lookalike duplicates`)",
           KILLS, "after each kill integrity_check ok; after each resume every photo catalogued exactly once and "
           "the vector index equal to the catalog's vectors")


@pytest.mark.soak
def test_soak_sigkill_loop(tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """Soak: `lookalike scan` SIGKILLed at 200 random moments"""
    phases = _kill_and_resume(tmp_path, embedder, SOAK_KILLS, seed=int(time.time()))
    print("kills by phase:", dict(phases), file=sys.stderr)
    record("crashes", f"soak: {SOAK_KILLS} SIGKILLs of `lookalike scan`, random seed", SOAK_KILLS,
           "after each kill integrity_check ok; after each resume catalog and index match the disk")


def test_loading_the_index_before_the_model_does_not_crash(record) -> None:  # type: ignore[no-untyped-def]
    """A fresh process importing the vector index, then the model runtime"""
    done = subprocess.run(
        [sys.executable, "-c", "import lookalike.core.index, lookalike.core.embedder"], capture_output=True, timeout=120
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-500:]!r}"
    record("crashes", "fresh process: import core.index, then core.embedder (what `lookalike scan` does)", 1,
           "no crash (usearch before onnxruntime segfaulted until index.py imported onnxruntime first; "
           "found by this suite)")
