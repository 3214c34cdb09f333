"""Crashes: `lookalike scan` and deletion batches SIGKILLed at random moments, many times over.

After every kill the catalog must pass `PRAGMA integrity_check`; after every
resume each photo on disk is catalogued exactly once and the vector index holds
exactly the catalog's vectors. The photo folder changes between rounds (edited,
deleted, added and moved photos), so kills land in inserts, overwrites, moves
and missing-marking alike, not only in a first scan.

A deletion batch (quarantine or trash) killed at any moment, then settled by
the next open (`journal.recover`), must leave every photo in exactly one place,
its bytes intact: where the journal says it is, at its own path or held in the
quarantine folder or the trash. Each round is then undone, so the next batch
starts from the whole library again.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.hashing import full_hash
from lookalike.core.removal.journal import OPEN, RESTORING, recover
from lookalike.core.scan.pipeline import Scanner
from lookalike.core.catalog.schema import Batch, File, JournalEntry
from lookalike.core.removal.undo import undo_batch
from reliability_tools import (
    RandomKiller,
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


def _kill_and_resume(tmp_path: Path, embedder: Embedder, kills: int, seed: int) -> Counter[str]:
    root = tmp_path / "photos"
    make_photos(root, PHOTOS)
    catalog_path = tmp_path / "catalog.sqlite"
    rng = random.Random(seed)
    # Kills wait for the model line ("lookalike: model ... on CPU") or land in the first 2.5 s.
    killer = RandomKiller(rng, work=2.0, early=2.5)
    phases: Counter[str] = Counter()
    with Catalog(catalog_path) as catalog:
        for number in range(kills):
            if number:
                _change_the_folder(root, rng, number)
            if number % 6 == 5:
                # Also kill a reader that saves the vector index and the k-NN graph.
                reader = subprocess.Popen(cli(catalog_path, "duplicates", "--json"), stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
                kill_at(reader, rng.uniform(0.5, 3.0))
            finished, stderr = killer.run(scan_command(catalog_path, root))
            phases["completed" if finished else _phase_at_kill(stderr)] += 1

            assert integrity(catalog_path) == "ok", f"round {number}: catalog damaged by the kill"
            Scanner(catalog, embedder).run([root])  # the resume
            assert integrity(catalog_path) == "ok"
            assert_catalog_matches_disk(catalog, root, embedder.model_id, embedder.dim)
    return phases


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
        [sys.executable, "-c", "import lookalike.core.engines.index, lookalike.core.engines.embedder"], capture_output=True, timeout=120
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-500:]!r}"
    record("crashes", "fresh process: import core.index, then core.embedder (what `lookalike scan` does)", 1,
           "no crash (usearch before onnxruntime segfaulted until index.py imported onnxruntime first; "
           "found by this suite)")


# --- deletion batches ----------------------------------------------------------------------

DELETION_KILLS = 32  # half in quarantine mode, half in trash mode where the trash can be restored
DELETION_PHOTOS = 40
#: A deletion batch in a child process: argv = catalog, mode, quarantine folder, groups as JSON
#: ([[kept ids], [removed ids]], ...). "ready" on stderr says the batch is about to start.
_DELETION_CHILD = textwrap.dedent(
    """
    import json, sys
    from lookalike.core.catalog.store import Catalog
    from lookalike.core.removal.deletion import execute, plan_removal
    catalog = Catalog(sys.argv[1])
    plan = plan_removal(catalog, json.loads(sys.argv[4]))
    print("ready", file=sys.stderr, flush=True)
    execute(catalog, plan, sys.argv[2], sys.argv[3])
    """
)


def _deletion_groups(ids: list[int], rng: random.Random) -> list[list[list[int]]]:
    """Remove a random half or so of `ids`, each with a kept photo from the other part."""
    shuffled = rng.sample(ids, len(ids))
    cut = rng.randint(len(ids) // 4, len(ids) * 3 // 4)
    removed, kept = shuffled[:cut], shuffled[cut:]
    return [[[kept[n % len(kept)]], [file_id]] for n, file_id in enumerate(removed)]


def _copies(folders: list[Path]) -> dict[str, list[str]]:
    """Content hash -> every file holding those bytes under `folders`."""
    found: dict[str, list[str]] = defaultdict(list)
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                found[full_hash(path)].append(str(path))
    return found


def _check_each_photo_once(catalog: Catalog, photos: dict[str, str], places: list[Path]) -> int:
    """Every photo's bytes are in exactly one file, where the journal says; returns how many are held away.

    The latest journal row of a path decides: "done" means held at its
    destination (quarantine or trash) and catalogued as deleted, anything else
    (none, skipped, failed, restored) means at its own path and catalogued ok.
    """
    copies = _copies(places)
    strays = {h: p for h, p in copies.items() if h not in photos.values()}
    assert not strays, f"files that are no photo of ours (half copies?): {strays}"
    with catalog.session() as session:
        latest = {e.source: e for e in session.scalars(select(JournalEntry).order_by(JournalEntry.id))}
        unsettled = session.scalar(select(func.count()).where(JournalEntry.state.in_(("planned", RESTORING))))
        open_batches = session.scalar(select(func.count()).select_from(Batch).where(Batch.status == OPEN))
        statuses = dict(session.execute(select(File.path, File.status)).all())
    assert unsettled == 0 and open_batches == 0, "the restart left the journal unsettled"
    held = 0
    for path, digest in photos.items():
        entry = latest.get(path)
        removed = entry is not None and entry.state == "done"
        expected = entry.destination if removed else path
        assert copies.get(digest) == [expected], f"{path}: its bytes are at {copies.get(digest)}, expected {expected}"
        assert statuses[path] == ("deleted" if removed else "ok"), f"{path}: catalogued {statuses[path]}"
        held += removed
    return held


def test_sigkill_deletion_batches_at_random_moments(tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """Deletion batches (quarantine, trash) SIGKILLed at random moments, settled at the next open"""
    root, quarantine, catalog_path = tmp_path / "photos", tmp_path / "quarantine", tmp_path / "catalog.sqlite"
    photos = {str(p): full_hash(p) for p in make_photos(root, DELETION_PHOTOS)}
    with Catalog(catalog_path) as catalog:
        Scanner(catalog, embedder).run([root])
        ids = [f.id for f in catalog.iter_files()]
    trash_files = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"
    places = [root, quarantine, trash_files]
    modes = ["quarantine", "trash"] if sys.platform not in ("darwin", "win32") else ["quarantine"]
    rng = random.Random(7)
    killer = RandomKiller(rng, work=0.5, early=1.0)
    outcomes: Counter[str] = Counter()
    for number in range(DELETION_KILLS):
        mode = modes[number % len(modes)]
        groups = json.dumps(_deletion_groups(ids, rng))
        command = [sys.executable, "-c", _DELETION_CHILD, str(catalog_path), mode, str(quarantine), groups]
        finished, _ = killer.run(command)
        assert integrity(catalog_path) == "ok", f"round {number} ({mode}): catalog damaged by the kill"

        with Catalog(catalog_path) as catalog:  # the restart: opening settles what the kill interrupted
            recover(catalog)
            assert integrity(catalog_path) == "ok"
            held = _check_each_photo_once(catalog, photos, places)
            outcome = "completed" if finished else "killed, files held" if held else "killed, none held"
            outcomes[f"{mode}: {outcome}"] += 1
            with catalog.session() as session:
                batch_id = session.scalar(select(func.max(Batch.id)))
            if held:
                undone = undo_batch(catalog, batch_id)
                assert not undone.not_restored, f"round {number}: undo left {undone.not_restored}"
    print("deletion kills:", dict(outcomes), file=sys.stderr)
    record("crashes", f"SIGKILL of a deletion batch at {DELETION_KILLS} random moments ({', '.join(modes)} "
           f"in turn, {DELETION_PHOTOS} photos, a random quarter to three quarters removed per batch; undone "
           "after each round)", DELETION_KILLS,
           "after each kill integrity_check ok; after the next open every photo's bytes in exactly one file, at "
           "its path or held where the journal says, catalogued deleted exactly when held; nothing lost (hashes)")
