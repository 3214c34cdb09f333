"""Compact vectors for the nearest-neighbour index: a PCA fitted on the library itself.

At a million photos the 1280-dim int8 vectors alone take 1.28 KB of RAM per photo,
and every HNSW distance reads all of them. A library's embeddings are low-rank
(pooled CNN features: a few hundred directions carry nearly all of their
variance), so the index holds each photo projected onto the library's top `DIM`
principal directions and uses them only to propose candidates: every cosine a
verdict or a threshold sees is recomputed on the full vectors
(`VectorIndex.search` re-ranks). Recall against exact full-vector search is in
docs/calibration.md ("Vector index").

The projection is a cache of the catalog like the index: saved beside it
(`<index>.projection.npz`) with a format VERSION and a `key` (a digest of its
numbers) that the index's sidecar records, so an index is never searched with
another projection than the one it was built with.

By default the directions are those of the vectors' second moment, not centred:
that keeps the raw dot products (the cosines that candidates are re-ranked by)
best, where a centred PCA spends dimensions on the differences between unrelated
photos. With 64 candidates re-ranked at 192 dimensions, recall@10 against exact
search was 1.000 (centred: 0.992) on the devset vectors and 0.9995 (centred:
0.9875) on 20k synthetic ones. `whiten` (an option measured elsewhere; off by
default) centres the vectors and scales each direction to unit variance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Dimensions kept (docs/calibration.md: recall of re-ranked search by dimension).
DIM = 192
#: Libraries smaller than this keep full vectors: their index is small anyway, and
#: a PCA fitted on a few hundred photos describes those photos, not the next ones.
MIN_PHOTOS = 20_000
#: Rows the fit looks at (a random sample): the covariance of 16k rows costs ~1 s.
SAMPLE = 16_384
#: Refit (and rebuild the index) once the library has grown this many times over.
REFIT_GROWTH = 4.0
#: Bump when the saved layout or the fitting changes: older files are refitted.
VERSION = 1
#: Rows projected per matrix product (bounds the temporary memory at 1M photos).
_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class Projection:
    """x -> unit((x - mean) @ components.T); rows of `components` are principal
    directions; `mean` is zero unless centred (`centre`, or `whiten`, which also
    divides each direction by its standard deviation)."""

    mean: np.ndarray  # float32 [full_dim]
    components: np.ndarray  # float32 [dim, full_dim]
    whiten: bool
    fitted_count: int  # photos in the library when it was fitted

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    @property
    def full_dim(self) -> int:
        return int(self.components.shape[1])

    @property
    def key(self) -> str:
        """Identifies these numbers: an index records the key of the projection it holds."""
        digest = hashlib.sha1(self.mean.tobytes() + self.components.tobytes()).hexdigest()[:16]
        return f"{VERSION}:{self.dim}:{int(self.whiten)}:{digest}"

    @classmethod
    def fit(
        cls,
        vectors: np.ndarray,
        dim: int = DIM,
        whiten: bool = False,
        sample: int = SAMPLE,
        seed: int = 0,
        centre: bool = False,
    ) -> Projection:
        """PCA of (a random sample of) `vectors`, keeping `dim` directions (see the module doc);
        `centre` subtracts the mean first (what the similar tier's scene score needs)."""
        rows = np.asarray(vectors, dtype=np.float32)
        if rows.ndim != 2 or len(rows) < 2:
            raise ValueError("a projection needs at least two vectors to fit")
        if len(rows) > sample:
            rows = rows[np.sort(np.random.default_rng(seed).choice(len(rows), sample, replace=False))]
        dim = min(dim, rows.shape[1])
        mean = rows.mean(axis=0) if whiten or centre else np.zeros(rows.shape[1], dtype=np.float32)
        centred = rows - mean
        variance, directions = np.linalg.eigh((centred.T @ centred) / np.float32(len(rows)))
        top = np.argsort(variance)[::-1][:dim]
        components = directions[:, top].T.astype(np.float32)
        if whiten:
            # Directions the sample barely spans would be blown up into noise: floor their spread.
            spread = np.sqrt(np.maximum(variance[top], 1e-3 * variance[top][0]))
            components /= spread[:, None].astype(np.float32)
        return cls(mean.astype(np.float32), np.ascontiguousarray(components), whiten, len(vectors))

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """The compact unit rows of full vectors (float32 [n, dim])."""
        rows = np.asarray(vectors, dtype=np.float32).reshape(-1, self.full_dim)
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        for start in range(0, len(rows), _CHUNK):
            block = (rows[start : start + _CHUNK] - self.mean) @ self.components.T
            block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), np.float32(1e-12))
            out[start : start + _CHUNK] = block
        return out

    def stale(self, count: int) -> bool:
        """Whether a library of `count` photos has outgrown what this was fitted on."""
        return count >= REFIT_GROWTH * self.fitted_count

    def save(self, path: Path | str) -> None:
        """Write to `path` as it is named (the index writes it to a scratch name, then renames)."""
        with Path(path).open("wb") as handle:
            np.savez(
                handle,
                version=np.int64(VERSION),
                mean=self.mean,
                components=self.components,
                whiten=np.bool_(self.whiten),
                fitted_count=np.int64(self.fitted_count),
            )

    @classmethod
    def load(cls, path: Path | str) -> Projection:
        """A saved projection; ValueError when missing, unreadable or of another VERSION."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if int(data["version"]) != VERSION:
                    raise ValueError(f"projection {path} has format {int(data['version'])}, expected {VERSION}")
                return cls(data["mean"], data["components"], bool(data["whiten"]), int(data["fitted_count"]))
        except (OSError, KeyError) as exc:
            raise ValueError(f"cannot read projection {path}: {exc}") from exc


def wanted(count: int, current: Projection | None) -> bool:
    """Whether a library of `count` photos needs a (new) projection: it has grown past
    MIN_PHOTOS without one, or far past the size the current one was fitted on."""
    return count >= MIN_PHOTOS and (current is None or current.stale(count))
