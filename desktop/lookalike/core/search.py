"""Find the catalogued photos most like some query images (which need not be catalogued)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lookalike.core.catalog import Catalog
from lookalike.core.embedder import Embedder
from lookalike.core.images import decode
from lookalike.core.index import open_index
from lookalike.core.schema import File


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One query image (absolute path) and its matches, most similar first."""

    query: str
    matches: list[tuple[File, float]]


def search_images(
    catalog: Catalog, embedder: Embedder, paths: Sequence[Path | str], top_k: int = 10
) -> list[SearchResult]:
    """The `top_k` catalogued photos nearest to each query by cosine.

    Every query is decoded before anything is searched, so an unreadable one
    raises `ImageError` (naming the file) without partial results.
    """
    queries = [Path(p).expanduser().resolve() for p in paths]
    size, resize = embedder.input_size, embedder.manifest.resize
    pixels = [decode(path, size, resize).pixels for path in queries]  # type: ignore[arg-type]
    if not queries:
        return []
    vectors = embedder.embed(pixels)
    index = open_index(catalog, embedder.model_id, embedder.dim)
    keys, sims = index.search(vectors, top_k)
    files = catalog.files(np.unique(keys[keys >= 0]).tolist())
    return [
        SearchResult(
            str(path),
            [(files[int(k)], float(s)) for k, s in zip(row_keys, row_sims) if int(k) in files],
        )
        for path, row_keys, row_sims in zip(queries, keys, sims)
    ]
