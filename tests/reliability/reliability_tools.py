"""Helpers shared by the reliability tests: the CLI in a child process, photo folders,
catalog invariants, a file whose reads hang, and running as an unprivileged user.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
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

from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.index import open_index

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


class NetworkBlocked(OSError):
    """Raised for any outgoing connection during the reliability run (see conftest.py)."""

#: `lookalike` as a child process (the entry point's module, with this interpreter).
LOOKALIKE = [sys.executable, "-m", "lookalike"]


def cli(catalog: Path, *args: str) -> list[str]:
    """The command line of `lookalike --catalog CATALOG ARGS...` in a child process."""
    return [*LOOKALIKE, "--catalog", str(catalog), *args]


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
        turned, kind = image.convert("RGB").rotate(rng.choice((90, 180, 270))), image.format
    turned.save(path, format=kind, quality=rng.randrange(60, 95))  # the name may have no extension


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
    """Photo files under `root` as a scan sees them (hidden names are skipped)."""
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def assert_catalog_matches_disk(catalog: Catalog, root: Path, model_id: str, dim: int) -> None:
    """Every photo under `root` is catalogued exactly once, and the index agrees with the catalog."""
    present = catalog_paths(catalog, ("ok", "error"))
    assert len(present) == len(set(present)), "a path is catalogued twice"
    on_disk = photos_on_disk(root)
    assert sorted(present) == on_disk, (
        f"not catalogued: {sorted(set(on_disk) - set(present))}; not on disk: {sorted(set(present) - set(on_disk))}"
    )
    ids, vectors = catalog.vectors(model_id)
    assert len(ids) == catalog.status_counts()["ok"]
    index = open_index(catalog, model_id, dim)
    assert sorted(index.keys().tolist()) == sorted(ids.tolist()), "the vector index disagrees with the catalog"
    if len(ids):
        assert np.einsum("nd,nd->n", index.vectors(ids), vectors).min() > 0.998, "an indexed vector is not its file's"


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


# --- permission checks as root ------------------------------------------------------------

#: Linux capabilities that let root read and search anything, whatever the permissions.
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2
_PR_CAPBSET_DROP = 24


def honour_permissions():  # type: ignore[no-untyped-def]
    """A preexec_fn that makes a child obey file permissions, or None when we already do.

    Root reads through chmod 000 (CAP_DAC_OVERRIDE), so a test of unreadable files
    run as root would test nothing. The child drops the two capabilities that
    bypass permission checks from its bounding set (kept across exec), and is
    then refused like any user. Raises OSError where that is not allowed.
    """
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
            if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "cannot drop the capability to bypass permissions")

    probe = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=drop, capture_output=True)
    if probe.returncode != 0:
        raise OSError("cannot run a child that honours file permissions")
    return drop


class RandomKiller:
    """Starts a command and SIGKILLs it at a random moment.

    A quarter of the kills land anywhere in the first `early` seconds (imports,
    opening and checking the catalog); the rest wait for the command's first line
    on stderr, written when its real work begins, and land within how long that
    work took when it last ran to the end (`work`: an estimate, updated by each
    run that ends by itself, never asserted on).
    """

    def __init__(self, rng: random.Random, work: float, early: float) -> None:
        self.rng, self.work, self.early = rng, work, early

    def run(self, command: list[str]) -> tuple[bool, bytes]:
        """(whether the command ended before its kill, everything it wrote on stderr)."""
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        early = self.rng.random() < 0.25
        if early:
            deadline = time.monotonic() + self.rng.uniform(0.05, self.early)
            first = b""
        else:
            first = process.stderr.readline() if process.stderr else b""
            deadline = time.monotonic() + self.rng.uniform(0.0, self.work)
        started = time.monotonic()
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.005)
        finished = process.poll() is not None
        if not finished:
            process.kill()
        _, rest = process.communicate()
        if finished and not early and process.returncode == 0:
            self.work = 0.5 * self.work + 0.5 * (time.monotonic() - started)
        return finished, first + rest


def kill_at(process: subprocess.Popen, delay: float) -> None:
    """SIGKILL `process` after `delay` seconds (or when it has already ended)."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.communicate()
