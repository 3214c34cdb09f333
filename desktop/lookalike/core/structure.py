"""Structural check that tells a copy of a photo from another shot of the same scene.

CNN embeddings rate two overlapping shots of one scene (cosine up to ~0.93 on the
devset) as high as a re-encoded copy, and a greyscale copy as low as ~0.57. What
separates them is alignment: a copy lines up pixel for pixel with its original
(after an optional crop, flip or quarter turn), another shot does not. Each photo
keeps a tiny greyscale thumbnail (its *signature*); a pair is scored by the best
alignment's block-wise correlation, ignoring the worst quarter of the blocks so a
watermark or a caption does not break the match.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image

SIDE = 32
#: Centre crops tried on either photo: the kept fraction of each side.
CROPS = (1.0, 0.92, 0.84)
BLOCKS = 4  # 4 x 4 blocks of 8 x 8 pixels
#: Fraction of blocks (best first) averaged: a watermark spoils a few blocks only.
KEEP = 0.75
#: Minimum contrast (grey levels RMS) for a block to count as structure.
_EPS = 2.0 * (SIDE // BLOCKS)


def signature(pixels: np.ndarray) -> bytes:
    """The 32 x 32 greyscale thumbnail (1 KB) of upright RGB pixels."""
    grey = Image.fromarray(pixels).convert("L").resize((SIDE, SIDE), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.uint8).tobytes()


def unpack(blobs: list[bytes], dtype: type = np.float32) -> np.ndarray:
    """Signatures as an array (N, SIDE, SIDE); uint8 keeps many of them at 1 KB each."""
    flat = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    return flat.reshape(len(blobs), SIDE, SIDE).astype(dtype)


@cache
def _crop_matrix(keep: float) -> np.ndarray:
    """Linear map taking a row of SIDE pixels to the centre `keep` part, resampled to SIDE."""
    start = SIDE * (1.0 - keep) / 2.0
    centres = start + (np.arange(SIDE) + 0.5) * keep - 0.5
    centres = np.clip(centres, 0, SIDE - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, SIDE - 1)
    weight = centres - low
    matrix = np.zeros((SIDE, SIDE), dtype=np.float32)
    matrix[np.arange(SIDE), low] += 1.0 - weight
    matrix[np.arange(SIDE), high] += weight
    return matrix


def _crops(sigs: np.ndarray) -> np.ndarray:
    """Each centre crop of each signature, resampled to SIDE: (N, C, SIDE, SIDE)."""
    crops = [sigs if keep == 1.0 else _crop_matrix(keep) @ sigs @ _crop_matrix(keep).T for keep in CROPS]
    return np.stack(crops, axis=1)


def _dihedral(x: np.ndarray) -> np.ndarray:
    """The 8 quarter-turns and mirrors of (N, SIDE, SIDE) images: (N, 8, SIDE, SIDE)."""
    turns = [np.rot90(m, k, axes=(1, 2)) for m in (x, x[:, :, ::-1]) for k in range(4)]
    return np.stack(turns, axis=1)


def _normalise(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    centred = x - x.mean(axis=axis, keepdims=True)
    norm = np.sqrt(np.square(centred).sum(axis=axis, keepdims=True))
    return centred / np.maximum(norm, _EPS)


def _blocks(x: np.ndarray) -> np.ndarray:
    """(N, SIDE, SIDE) -> (N, BLOCKS*BLOCKS, block pixels), each block normalised."""
    b = SIDE // BLOCKS
    tiles = x.reshape(len(x), BLOCKS, b, BLOCKS, b).swapaxes(2, 3).reshape(len(x), BLOCKS * BLOCKS, b * b)
    return _normalise(tiles, (-1,))


def _one_way(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Score of crops of a against every turn/mirror of b, for pairs (a[i], b[i])."""
    crops = _crops(a)  # (P, C, S, S)
    turned = _dihedral(b)  # (P, 8, S, S)
    # Turning or mirroring keeps an image's mean and norm: normalise C + 1 images, not C * 8.
    scores = np.einsum(
        "pcij,ptij->pct", _normalise(crops, (-2, -1)), _dihedral(_normalise(b, (-2, -1)))
    ).reshape(len(a), -1)
    best = scores.argmax(axis=1)
    rows = np.arange(len(a))
    aligned_a = crops[rows, best // turned.shape[1]]
    aligned_b = turned[rows, best % turned.shape[1]]
    per_block = (_blocks(aligned_a) * _blocks(aligned_b)).sum(axis=-1)  # (P, blocks)
    kept = int(round(per_block.shape[1] * KEEP))
    return -np.sort(-per_block, axis=1)[:, :kept].mean(axis=1)


def pair_scores(a: np.ndarray, b: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Structural similarity (about -1..1; copies > 0.9) of pairs of signatures.

    `a` and `b` are (P, SIDE, SIDE) float arrays from `unpack`; the score is
    symmetric (the best of cropping either side).
    """
    out = np.empty(len(a), dtype=np.float32)
    for start in range(0, len(a), chunk):
        sa, sb = a[start : start + chunk], b[start : start + chunk]
        out[start : start + chunk] = np.maximum(_one_way(sa, sb), _one_way(sb, sa))
    return out


def scores_between(sigs: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """`pair_scores` of pairs given as indices into `sigs` (uint8, from `unpack`).

    Pairs are gathered chunk by chunk: a million photos' k-NN graph holds millions of
    candidate pairs, far too many to lay out as float arrays at once.
    """
    out = np.empty(len(a), dtype=np.float32)
    for start in range(0, len(a), chunk):
        part = slice(start, start + chunk)
        out[part] = pair_scores(sigs[a[part]].astype(np.float32), sigs[b[part]].astype(np.float32))
    return out
