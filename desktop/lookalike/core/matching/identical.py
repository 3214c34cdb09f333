"""Byte-identical files: size, then partial hash, then full hash — each step on fewer files.

Most photos have a size no other photo shares, so they are never read at all;
same-size files are told apart by 128 KiB each; only partial-hash collisions are
read in full. Computed hashes are stored in the catalog and reused while the
file's size and mtime are those the catalog knows (the scan clears them when a
file changes), so asking again costs a few stats.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable

from lookalike.core.catalog.store import Catalog, HashCandidate
from lookalike.core.hashing import full_hash, partial_hash


def find_identical(catalog: Catalog) -> list[list[int]]:
    """Groups of file ids whose bytes are identical (ok files only).

    Each group is sorted and has at least two ids; groups are ordered by their
    first id. Files that changed on disk since the last scan, or cannot be read
    now, are left out: identity is only claimed for bytes actually compared.
    """
    candidates = [c for c in catalog.same_size_files() if _unchanged(c)]
    new_partial: dict[int, str] = {}
    new_full: dict[int, str] = {}

    by_partial = _group(candidates, lambda c: (c.size, c.partial_hash), lambda c: partial_hash(c.path), new_partial)
    colliding = [c for group in by_partial if len(group) > 1 for c in group]
    by_full = _group(colliding, lambda c: (c.size, c.full_hash), lambda c: full_hash(c.path), new_full)

    catalog.set_hashes(new_partial, new_full)
    groups = [sorted(c.id for c in group) for group in by_full if len(group) > 1]
    return sorted(groups)


def _group(
    files: Iterable[HashCandidate],
    stored: Callable[[HashCandidate], tuple[int, str | None]],
    compute: Callable[[HashCandidate], str],
    computed: dict[int, str],
) -> list[list[HashCandidate]]:
    """Group `files` by (size, hash), computing (and collecting) missing hashes."""
    groups: dict[tuple[int, str], list[HashCandidate]] = defaultdict(list)
    for candidate in files:
        size, digest = stored(candidate)
        if digest is None:
            try:
                digest = compute(candidate)
            except OSError:
                continue  # vanished or unreadable since the scan: nothing to compare
            computed[candidate.id] = digest
        groups[(size, digest)].append(candidate)
    return list(groups.values())


def _unchanged(candidate: HashCandidate) -> bool:
    """The file is still the one the catalog describes (same size and mtime)."""
    try:
        info = os.stat(candidate.path)
    except OSError:
        return False
    return info.st_size == candidate.size and info.st_mtime_ns == candidate.mtime_ns
