"""Moving a photo so that a crash or a full disk never leaves it lost or half-written.

On one filesystem a move is a rename (atomic). Across filesystems the copy goes to
`<destination>.lookalike-part`, is flushed to disk and checked against the content
hash, and only then takes its final name and the source is unlinked: at every
instant one complete copy exists under a name the journal knows.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from lookalike.core.hashing import full_hash

PART_SUFFIX = ".lookalike-part"


class MoveError(OSError):
    """A move that was refused or could not be verified; nothing was lost."""


def free_name(path: Path) -> Path:
    """`path` if nothing is there, else the first free 'name (1).ext', 'name (2).ext'..."""
    candidate, number = path, 0
    while os.path.lexists(candidate):
        number += 1
        candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
    return candidate


def is_inside(path: Path | str, folder: Path | str) -> bool:
    """Whether `path` lies inside `folder` (or is it) once symbolic links are resolved in both.

    Compared by real paths because a '..' or a link planted on the way would
    otherwise carry a move out of a folder that merely looks right.
    """
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def part_path(destination: Path) -> Path:
    """Where a cross-filesystem copy to `destination` is written before it is complete."""
    return destination.with_name(destination.name + PART_SUFFIX)


def move_file(source: Path, destination: Path, expected_hash: str | None = None) -> None:
    """Move `source` to `destination`, which must not exist; verify copies by hash."""
    if os.path.lexists(destination):
        raise MoveError(errno.EEXIST, "a file already exists there", str(destination))
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(source, destination)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_verified(source, destination, expected_hash or full_hash(source))
        try:
            os.unlink(source)
        except OSError:
            destination.unlink()  # the source stays: never leave two copies behind
            raise
    sync_dir(destination.parent)
    sync_dir(source.parent)


def _copy_verified(source: Path, destination: Path, expected_hash: str) -> None:
    part = part_path(destination)
    try:
        shutil.copy2(source, part)  # copy2 keeps mtime_ns, so the catalog still matches
        with open(part, "rb+") as handle:
            os.fsync(handle.fileno())
        if full_hash(part) != expected_hash:
            raise MoveError(errno.EIO, "the copy does not match the original (hash differs)", str(part))
        os.rename(part, destination)
    finally:
        if part.exists():
            part.unlink()


def sync_dir(folder: Path) -> None:
    """Make a rename or unlink in `folder` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (network, FUSE) refuse fsync on directories
    finally:
        os.close(fd)
