"""Helpers shared by the reliability tests: the CLI in a child process, photo folders,
catalog invariants, a file whose reads hang, and running as an unprivileged user.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from lookalike.core.catalog import Catalog
from lookalike.core.index import open_index

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"

#: The CLI as `lookalike` runs it, except that onnxruntime is imported first: importing
#: usearch before onnxruntime segfaults (see test_crashes.py's strict xfail and
#: ../shared/NOTES.md); without this every child `lookalike scan` would crash at start.
LAUNCH = "import onnxruntime, sys; from lookalike.cli import main; sys.exit(main())"


def cli(catalog: Path, *args: str) -> list[str]:
    """The command line of `lookalike --catalog CATALOG ARGS...` in a child Python."""
    return [sys.executable, "-c", LAUNCH, "--catalog", str(catalog), *args]


def scan_command(catalog: Path, root: Path, *extra: str) -> list[str]:
    return cli(catalog, "scan", str(root), "--device", "cpu", "--workers", "1", "--json", *extra)


def run_cli(catalog: Path, *args: str, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(catalog, *args), capture_output=True, text=True, timeout=timeout, **kwargs)


def make_photos(folder: Path, count: int, seed: int = 0, size: tuple[int, int] = (120, 96)) -> list[Path]:
    """`count` small distinct JPEGs cut from the sample photos (fast to decode and embed)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    sources = [Image.open(p).convert("RGB") for p in sorted(SAMPLES.glob("*.jpg"))]
    made = []
    for number in range(count):
        source = rng.choice(sources)
        x, y = rng.randrange(0, source.width - 160), rng.randrange(0, source.height - 130)
        path = folder / f"photo_{seed}_{number:03d}.jpg"
        source.crop((x, y, x + 150, y + 120)).resize(size).save(path, quality=rng.randrange(60, 95))
        made.append(path)
    return made


def rewrite_photo(path: Path, seed: int) -> None:
    """Give a photo new pixels (a changed file for the next scan)."""
    rng = random.Random(seed)
    with Image.open(path) as image:
        image.convert("RGB").rotate(rng.choice((90, 180, 270))).save(path, quality=rng.randrange(60, 95))


def integrity(catalog_path: Path) -> str:
    """PRAGMA integrity_check of the catalog file, read-only."""
    db = sqlite3.connect(f"{catalog_path.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return "; ".join(str(row[0]) for row in db.execute("PRAGMA integrity_check"))
    finally:
        db.close()


def catalog_paths(catalog: Catalog, statuses: Sequence[str] = ("ok", "error", "missing")) -> list[str]:
    """Every catalogued path with one of `statuses` (duplicates kept, to be counted)."""
    return [f.path for f in catalog.iter_files(statuses)]


def photos_on_disk(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file())


def assert_catalog_matches_disk(catalog: Catalog, root: Path, model_id: str, dim: int) -> None:
    """Every photo under `root` is catalogued exactly once, and the index agrees with the catalog."""
    present = catalog_paths(catalog, ("ok", "error"))
    assert len(present) == len(set(present)), "a path is catalogued twice"
    assert sorted(present) == photos_on_disk(root)
    ids, vectors = catalog.vectors(model_id)
    assert len(ids) == catalog.status_counts()["ok"]
    index = open_index(catalog, model_id, dim)
    assert sorted(index.keys().tolist()) == sorted(ids.tolist()), "the vector index disagrees with the catalog"
    if len(ids):
        assert np.allclose(index.vectors(ids), vectors, atol=2e-3)


# --- a file whose reads hang ----------------------------------------------------------


@contextmanager
def hanging_reads(path: Path) -> Iterator[None]:
    """While inside, opening `path` blocks (up to /proc/sys/fs/lease-break-time, 45 s).

    A real kernel behaviour, not a mock: a child process holds a write lease on
    the file and ignores the lease-break signal, so any other open() of it waits
    for the lease holder, like a read from a disk or network share that stopped
    answering. Linux only; raises OSError where leases are not available.
    """
    holder = subprocess.Popen(
        [sys.executable, "-c", _LEASE_HOLDER, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = holder.stdout.readline().strip() if holder.stdout else ""
        if line != "held":
            raise OSError(f"cannot take a lease on {path}: {line or holder.stderr.read() if holder.stderr else ''}")
        yield
    finally:
        holder.kill()
        holder.wait()


_LEASE_HOLDER = """
import fcntl, os, signal, sys, time
signal.signal(signal.SIGIO, signal.SIG_IGN)
try:
    fd = os.open(sys.argv[1], os.O_RDONLY)
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
except OSError as exc:
    print(exc, flush=True)
    sys.exit(1)
print("held", flush=True)
time.sleep(600)
"""


def leases_work(folder: Path) -> bool:
    probe = folder / "lease-probe"
    probe.write_bytes(b"x")
    fd = os.open(probe, os.O_RDONLY)
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
        probe.unlink()


# --- an unprivileged user ---------------------------------------------------------------


def unprivileged() -> tuple[int, int] | None:
    """(uid, gid) to run children as when this process is root (permissions do not stop
    root), None when already unprivileged; raises LookupError where no such user exists.
    """
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def as_user(ids: tuple[int, int] | None):  # type: ignore[no-untyped-def]
    """A preexec_fn dropping to `ids` in the child (None: stay as we are)."""
    if ids is None:
        return None

    def drop() -> None:
        os.setgroups([])
        os.setgid(ids[1])
        os.setuid(ids[0])

    return drop


def kill_at(process: subprocess.Popen, delay: float) -> None:
    """SIGKILL `process` after `delay` seconds (or when it has already ended)."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.communicate()
