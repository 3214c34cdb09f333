"""Find the catalogued photos most like some query images (which need not be catalogued)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.images import ImageError, decode
from lookalike.core.engines.index import open_index
from lookalike.core.catalog.schema import File

#: Cosine below which a search result is not called a match: search always ranks
#: something first, even for a photo of nothing in the library. Measured with
#: `lookalike search --top 20` over every catalogued photo (docs/calibration.md,
#: "Search: close-match cut-off"): on the devset the best match of an unrelated
#: photo is at most 0.565 (median 0.388), while 98.6% of copies and every
#: overlapping shot have a match at or above 0.60 (shots from 0.677); on the
#: realset 94% of duplicates, 83% of same-scene shots and 74% of near-identical
#: shots do. The realset's negatives, chosen to look alike (sunsets, receipts),
#: still reach it two times in three: past the cut-off means "looks alike", not "same scene".
CLOSE_MATCH = 0.60


def is_close(similarity: float) -> bool:
    """Whether a search result is close enough to show (and print) as a match."""
    return similarity >= CLOSE_MATCH


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One query image (absolute path) and its matches, most similar first;
    `error` says why a query that could not be read has none."""

    query: str
    matches: list[tuple[File, float]]
    error: str | None = None


def search_images(
    catalog: Catalog, embedder: Embedder, paths: Sequence[Path | str], top_k: int = 10
) -> list[SearchResult]:
    """The `top_k` catalogued photos nearest to each query by cosine, one result per query.

    A query that cannot be read gets its reason (`error`) and no matches; the others
    are still answered. `top_k` is bounded by the number of catalogued photos, so
    a huge one costs no more than asking for all of them.
    """
    queries = [Path(p).expanduser().resolve() for p in paths]
    size, resize = embedder.input_size, embedder.manifest.resize
    pixels: dict[int, np.ndarray] = {}
    errors: dict[int, str] = {}
    for number, path in enumerate(queries):
        try:
            pixels[number] = decode(path, size, resize).pixels
        except ImageError as exc:
            errors[number] = str(exc)
    if not pixels:
        return [SearchResult(str(path), [], errors[n]) for n, path in enumerate(queries)]
    index = open_index(catalog, embedder.model_id, embedder.dim)
    readable = sorted(pixels)
    keys, sims = index.search(embedder.embed([pixels[n] for n in readable]), max(1, min(top_k, len(index))))
    files = catalog.files(np.unique(keys[keys >= 0]).tolist())
    found = {
        n: [(files[int(k)], float(s)) for k, s in zip(row_keys, row_sims) if int(k) in files]
        for n, row_keys, row_sims in zip(readable, keys, sims)
    }
    return [SearchResult(str(path), found.get(n, []), errors.get(n)) for n, path in enumerate(queries)]
