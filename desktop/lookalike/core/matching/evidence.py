"""The details a proof compares, made from the files themselves when a proof needs them.

A photo's 64x64 detail (core/matching/proof.py) is ~2.8 KB even compressed
losslessly: kept for every photo, it was half of the catalog (docs/calibration.md,
"Catalog on disk"). Only the files of candidate pairs ever need one, and only
once: the neighbour graph keeps each pair's verdict, and a rebuilt graph takes
the verdicts of unchanged pairs from the one it replaces. So the catalog keeps
no detail: a proof reads both files again, and only from bytes proven to be the
ones scanned (`hashing.unchanged_problem`: size, mtime and the full hash recorded
then). A file that is gone, changed, offline or unreadable gives no detail, so
its pairs stay unchecked and are never called duplicates: a pair is "similar"
until the files show otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Row

from lookalike.core.catalog.store import Catalog
from lookalike.core.hashing import unchanged_problem
from lookalike.core.matching.proof import Detail, detail
from lookalike.core.scan.images import decode

#: The pixels a detail is made from: the default model's input, squashed (EfficientNet-Lite0,
#: 224 x 224), which the proof's thresholds were calibrated on (docs/calibration.md).
DECODE_SIZE = (224, 224)

#: Files handed to the decoding threads at a time: each waiting file is a queued future, and
#: a library-wide proof may have hundreds of thousands to read.
_CHUNK = 256


def read_details(catalog: Catalog, ids: Sequence[int], threads: int) -> dict[int, Detail]:
    """The details of the files `ids` that are still, provably, the files scanned; the
    others are absent. `threads` decode side by side (decoding releases the GIL)."""
    rows = catalog.file_columns(list(ids), ["path", "size", "mtime_ns", "full_hash", "partial_hash", "captured", "status"])
    present = [row for row in rows.values() if row.status == "ok"]
    out: dict[int, Detail] = {}
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for first in range(0, len(present), _CHUNK):
            chunk = present[first : first + _CHUNK]
            for row, thumbnail in zip(chunk, pool.map(_thumbnail, chunk)):
                if thumbnail is not None:
                    out[row.id] = Detail(thumbnail, row.captured)
    return out


def _thumbnail(row: Row) -> bytes | None:
    """The detail of the file `row` records, or None when it cannot be proven to be that
    file. Proven after decoding, so bytes changed while they were decoded are caught."""
    try:
        pixels = decode(row.path, DECODE_SIZE, "squash").pixels
    except Exception:  # noqa: BLE001 - unreadable (ImageError) or a codec bug: this pair goes unproven
        return None
    return detail(pixels) if unchanged_problem(row.path, row)[0] is None else None
