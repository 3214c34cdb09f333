"""Content hashes: a cheap partial one to rule files out, a full one to prove identity.

The partial hash reads at most 128 KiB whatever the file's size, so it can be
taken for every candidate of a same-size group (or of a possible move) without
reading whole photo libraries; only partial-hash collisions pay for a full read.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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
