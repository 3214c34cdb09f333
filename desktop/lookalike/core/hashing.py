"""Content hashes: a cheap partial one to rule files out, a full one to prove identity.

The partial hash reads at most 128 KiB whatever the file's size, so it can be
taken for every candidate of a same-size group (or of a possible move) without
reading whole photo libraries; only partial-hash collisions pay for a full read.

`unchanged_problem` proves that a file is still the one that was read, by the
hash recorded then: before a deletion (core/removal/deletion.py) and before a
proof re-reads a photo (core/matching/evidence.py).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

#: Bytes read from each end of a file for the partial hash.
PARTIAL_BLOCK = 64 * 1024
#: Read size of the full hash (large reads let hashlib release the GIL).
FULL_BLOCK = 1024 * 1024


def partial_hash(path: Path | str) -> str:
    """blake2b of the size, the first 64 KiB and the last 64 KiB (raises OSError)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        digest.update(size.to_bytes(8, "little"))
        digest.update(handle.read(PARTIAL_BLOCK))
        if size > PARTIAL_BLOCK:
            handle.seek(max(PARTIAL_BLOCK, size - PARTIAL_BLOCK))
            digest.update(handle.read(PARTIAL_BLOCK))
    return digest.hexdigest()


def full_hash(path: Path | str) -> str:
    """blake2b of the whole file, streamed in 1 MiB blocks (raises OSError)."""
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(FULL_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


class Recorded(Protocol):
    """What the catalog recorded of a file when it was read (a schema.File row)."""

    size: int
    mtime_ns: int
    full_hash: str | None
    partial_hash: str | None


def unchanged_problem(path: Path | str, row: Recorded) -> tuple[str | None, str | None]:
    """(why `path` is not provably the file `row` was read as, or None; its full hash now).

    Same size and mtime, then the bytes: the full hash recorded when the file was
    read, else (older catalogs) the partial hash; a file with neither on record
    cannot be proven and is refused. Reads the whole file every time: a file
    edited and given back its size and mtime (`os.utime`) must still be caught.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})", None
    if info.st_size != row.size or info.st_mtime_ns != row.mtime_ns:
        return "changed since it was scanned (size or modification time differ)", None
    try:
        digest = full_hash(path)
        partial = partial_hash(path) if not row.full_hash else None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})", None
    if row.full_hash:
        same = digest == row.full_hash
    elif row.partial_hash:
        same = partial == row.partial_hash
    else:
        return "has no content hash on record, so it cannot be proven unchanged", digest
    return (None if same else "content changed since it was scanned"), digest
