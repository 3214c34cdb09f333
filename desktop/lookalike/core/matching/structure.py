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

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import cache

import numpy as np
from PIL import Image
from threadpoolctl import threadpool_limits

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


@cache
def _undo_turns() -> np.ndarray:
    """(8, SIDE*SIDE) pixel orders undoing each turn, the result laid out block by block.

    Scoring crop c of A against B turned by t equals scoring crop c of A turned
    back by t against B as it is (a turn permutes pixels and maps the block grid
    onto itself), so each photo's turned-back crops are made once and a pair costs
    one product of those against the other photo's plain signature. Every score
    is a sum over pixels, so any common pixel order will do: block by block makes
    the blocks contiguous.
    """
    turned = _dihedral(np.arange(SIDE * SIDE).reshape(1, SIDE, SIDE))[0].reshape(8, -1)
    return np.argsort(turned, axis=1)[:, _block_order()]


@cache
def _block_order() -> np.ndarray:
    """Pixel order (SIDE*SIDE,) listing block after block, each block row by row."""
    b = SIDE // BLOCKS
    grid = np.arange(SIDE * SIDE).reshape(BLOCKS, b, BLOCKS, b)
    return grid.swapaxes(1, 2).reshape(-1)


def _normalise(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    centred = x - x.mean(axis=axis, keepdims=True)
    norm = np.sqrt(np.square(centred).sum(axis=axis, keepdims=True))
    return centred / np.maximum(norm, _EPS)


def _block_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-block correlation of rows laid out block by block: (E, SIDE*SIDE) x2 -> (E, BLOCKS**2).

    Each block is centred and scaled by max(its norm, _EPS) (flat blocks count as
    no structure), from per-block sums rather than normalised copies.
    """
    a = a.reshape(len(a), BLOCKS * BLOCKS, -1)
    b = b.reshape(len(b), BLOCKS * BLOCKS, -1)
    n = np.float32(a.shape[-1])
    sa, sb = a.sum(axis=-1), b.sum(axis=-1)
    cov = np.einsum("ebp,ebp->eb", a, b) - sa * sb / n
    var_a = np.einsum("ebp,ebp->eb", a, a) - sa * sa / n
    var_b = np.einsum("ebp,ebp->eb", b, b) - sb * sb / n
    scale = np.maximum(np.sqrt(np.maximum(var_a, 0)), _EPS) * np.maximum(np.sqrt(np.maximum(var_b, 0)), _EPS)
    return cov / scale


def _owned_scores(sigs: np.ndarray, owner: np.ndarray, other: np.ndarray) -> np.ndarray:
    """One-way scores of entries (owner[i], other[i]): crops of the owner against turns of the other.

    Each owner's 24 turned-back crops meet all of its entries' plain signatures in
    one batched matrix product. The other side needs no normalising to pick the
    best alignment: the owner's views are centred, and its norm scales all 24 alike.
    """
    owners, slot, per_owner = np.unique(owner, return_inverse=True, return_counts=True)
    # Grey levels centred on 0 keep the per-block sums of squares small (float32).
    crops = _crops(sigs[owners].astype(np.float32) - 128).reshape(len(owners), len(CROPS), SIDE * SIDE)
    # A turn only permutes pixels, so centring and scaling commute with it: each crop is
    # normalised once, then turned (not each of its 8 turned views).
    views = np.take(_normalise(crops, (-1,)), _undo_turns(), axis=2).reshape(len(owners), len(CROPS) * 8, -1)
    plain = np.take(sigs.reshape(len(sigs), -1)[other], _block_order(), axis=1).astype(np.float32)
    plain -= 128
    by_owner = np.argsort(slot, kind="stable")
    rank = np.empty(len(owner), dtype=np.int64)
    rank[by_owner] = np.arange(len(owner)) - np.repeat(np.cumsum(per_owner) - per_owner, per_owner)
    padded = np.zeros((len(owners), int(per_owner.max()), SIDE * SIDE), dtype=np.float32)
    padded[slot, rank] = plain  # entries laid out per owner, padded to the busiest owner's count
    crop, turn = np.divmod(np.matmul(padded, views.transpose(0, 2, 1))[slot, rank].argmax(axis=1), 8)
    flat = crops.reshape(-1, SIDE * SIDE)
    best = np.empty_like(plain)  # each entry's best view of its owner, turned back
    for t, order in enumerate(_undo_turns()):  # one pixel order per turn: no per-entry index array
        rows = np.flatnonzero(turn == t)
        if len(rows):
            best[rows] = np.take(flat[slot[rows] * len(CROPS) + crop[rows]], order, axis=1)
    per_block = _block_correlations(best, plain)
    kept = int(round(per_block.shape[1] * KEEP))
    return -np.sort(-per_block, axis=1)[:, :kept].mean(axis=1)


def scores_between(sigs: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 512, threads: int = 1) -> np.ndarray:
    """Structural similarity (about -1..1; copies > 0.9) of pairs given as indices into `sigs`.

    `sigs` is (N, SIDE, SIDE) from `unpack` (uint8 keeps a million photos at 1 KB
    each). The score is symmetric: the better of cropping either side. Entries
    are scored about `chunk` at a time, photos with alike numbers of entries
    together (little padding), so memory stays bounded however many pairs a k-NN
    graph holds; `threads` score chunks side by side (numpy lets go of the GIL).
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    owner, other = np.concatenate([a, b]), np.concatenate([b, a])
    one_way = np.empty(len(owner), dtype=np.float32)

    def score(part: np.ndarray) -> None:
        one_way[part] = _owned_scores(sigs, owner[part], other[part])

    # The products are small: BLAS's own threads only wait on each other (2 cores: the same
    # time for 1.5x the CPU), while whole chunks side by side score 1.7x as fast.
    with threadpool_limits(limits=1, user_api="blas"):
        _each(score, _chunks_by_owner(owner, chunk), threads)
    return np.maximum(one_way[: len(a)], one_way[len(a) :])


def _each(work: Callable[[np.ndarray], None], parts: Iterator[np.ndarray], threads: int) -> None:
    """`work` on every part, `threads` at a time, at most two parts each queued (the parts of
    a million photos' graph are 400 MB of positions in all)."""
    if threads <= 1:
        for part in parts:
            work(part)
        return
    with ThreadPoolExecutor(threads) as pool:
        running: set[Future[None]] = set()
        for part in parts:
            if len(running) >= 2 * threads:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # a failure stops the scoring here
            running.add(pool.submit(work, part))
        for future in running:
            future.result()


def _chunks_by_owner(owner: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Entry positions, each owner's entries whole, owners in order of their entry count."""
    by_owner = np.argsort(owner, kind="stable")
    _, firsts, counts = np.unique(owner[by_owner], return_index=True, return_counts=True)
    by_count = np.argsort(counts, kind="stable")
    ends = np.cumsum(counts[by_count])
    start = 0
    while start < len(by_count):
        stop = max(int(np.searchsorted(ends, ends[start] - counts[by_count[start]] + size, side="right")), start + 1)
        groups = by_count[start:stop]
        yield by_owner[np.concatenate([np.arange(f, f + c) for f, c in zip(firsts[groups], counts[groups])])]
        start = stop


def pair_scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`scores_between` of the pairs (a[i], b[i]) of (P, SIDE, SIDE) signature arrays."""
    pairs = np.arange(len(a))
    return scores_between(np.concatenate([a, b]), pairs, pairs + len(a))
