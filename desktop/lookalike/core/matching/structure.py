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
from typing import NamedTuple

import numpy as np
from PIL import Image
from threadpoolctl import threadpool_limits

SIDE = 32
#: Centre crops tried on either photo: the kept fraction of each side.
CROPS = (1.0, 0.92, 0.84)
BLOCKS = 4  # 4 x 4 blocks of 8 x 8 pixels
_BLOCK = SIDE // BLOCKS
#: Entries scored at once: their temporaries (~7 KB an entry) stay in the CPU cache (2 threads,
#: 1M pairs: 1,024 at a time 3.5 us a pair, 512 3.9 us, 256 5.2 us).
CHUNK = 1024
#: Fraction of blocks (best first) averaged: a watermark spoils a few blocks only.
KEEP = 0.75
#: Minimum contrast (grey levels RMS) for a block to count as structure.
_EPS = 2.0 * _BLOCK


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
    b = _BLOCK
    grid = np.arange(SIDE * SIDE).reshape(BLOCKS, b, BLOCKS, b)
    return grid.swapaxes(1, 2).reshape(-1)


def _owned_scores(rows: np.ndarray, stats: _BlockStats, owner: np.ndarray, other: np.ndarray) -> np.ndarray:
    """One-way scores of entries (owner[i], other[i]) of signature `rows` laid out block by
    block: crops of the owner against turns of the other.

    Each owner's 24 turned-back crops, every block centred, meet all of its entries'
    signatures in one batched product per block: that gives each view's block
    covariances with the entry at once. Added up over the blocks, with the block means
    put back (the entries' block sums come from `stats`, worked out once per photo),
    they pick the view correlating best with the entry as a whole (the views are
    centred and scaled, the entry's norm scales all 24 alike); the chosen view's own
    are its block correlations, the entry's block variances coming from `stats` too.
    No per-entry copy of the chosen view is made.
    """
    owners, slot, rank, width = _laid_out(owner)
    views, n = len(CROPS) * 8, np.float32(_BLOCK * _BLOCK)
    natural = np.take(rows[owners], _natural_order(), axis=1).reshape(len(owners), SIDE, SIDE)
    # Grey levels centred on 0 keep the per-block sums of squares small (float32).
    crops = _crops(natural.astype(np.float32) - 128).reshape(len(owners), len(CROPS), SIDE * SIDE)
    mean = crops.mean(axis=-1)
    norm = np.maximum(np.sqrt(np.square(crops - mean[..., None]).sum(axis=-1)), _EPS)
    # One product with `_block_matrix` sums every block, ~4x faster than summing strided
    # axes; in float64, where such sums are exact whatever order BLAS adds in, so a pair's
    # score does not depend on the chunk it is scored in.
    flat = crops.reshape(-1, SIDE * SIDE).astype(np.float64)
    block_sums = (flat @ _block_matrix()).astype(np.float32).reshape(len(owners), len(CROPS), -1)
    block_squares = (np.square(flat) @ _block_matrix()).astype(np.float32).reshape(len(owners), len(CROPS), -1)
    # A turn moves blocks whole: each view's block sums are its crop's, reordered; and each
    # crop centred block by block, then turned, is each view centred block by block.
    moved = (slice(None), slice(None), _moved_blocks())
    sa = block_sums[moved].reshape(len(owners), views, -1)
    var_a = block_squares[moved].reshape(len(owners), views, -1) - sa * sa / n
    centred = crops - np.take(block_sums / n, _pixel_blocks(), axis=2)
    turned = np.take(centred.reshape(len(owners), -1), _views_by_block(), axis=1)  # (owners, blocks, views, pixels)
    # The entries row after row (one scatter of whole rows), read block by block through a view.
    plain = np.zeros((len(owners) * width, SIDE * SIDE), dtype=np.float32)
    at = slot * width + rank
    plain[at] = rows[other]
    plain -= 128
    padded = plain.reshape(len(owners), width, BLOCKS * BLOCKS, -1).swapaxes(1, 2)
    products = np.matmul(padded, turned.swapaxes(2, 3))  # (owners, blocks, width, views)
    sums_b = stats.sums[other]
    sb = np.zeros((len(owners) * width, BLOCKS * BLOCKS), dtype=np.float32)
    sb[at] = sums_b
    crop = np.repeat(np.arange(len(CROPS)), 8)
    # Each block mean's share of the whole-image product with the view centred as a whole.
    offsets = np.matmul(sb.reshape(len(owners), width, -1), (sa / n - mean[:, crop, None]).swapaxes(1, 2))
    fit = (products.sum(axis=1) + offsets)[slot, rank] / norm[slot][:, crop]
    best = fit.argmax(axis=1)
    var_b = stats.squares[other] - np.square(sums_b) / n
    scale = np.maximum(np.sqrt(np.maximum(var_a[slot, best], 0)), _EPS) * np.maximum(np.sqrt(np.maximum(var_b, 0)), _EPS)
    per_block = products[slot, :, rank, best] / scale  # flat blocks (norm below _EPS) count as no structure
    kept = int(round(per_block.shape[1] * KEEP))
    return -np.sort(-per_block, axis=1)[:, :kept].mean(axis=1)


@cache
def _pixel_blocks() -> np.ndarray:
    """(SIDE*SIDE,): the block each pixel (row by row) lies in."""
    pixel = np.arange(SIDE * SIDE)
    return (pixel // SIDE // _BLOCK) * BLOCKS + (pixel % SIDE) // _BLOCK


@cache
def _views_by_block() -> np.ndarray:
    """(blocks, views, pixels): where each pixel of each block of each turned-back crop
    (`_undo_turns`) lies among a photo's crops laid end to end, so one gather makes the
    views in the order the block products read them."""
    turns = _undo_turns().reshape(8, BLOCKS * BLOCKS, -1)
    starts = np.arange(len(CROPS)) * SIDE * SIDE
    return (starts[:, None, None, None] + turns[None]).reshape(len(CROPS) * 8, BLOCKS * BLOCKS, -1).swapaxes(0, 1).copy()


@cache
def _block_matrix() -> np.ndarray:
    """(SIDE*SIDE, BLOCKS**2) float64: 1 where a pixel (row by row) lies in a block."""
    out = np.zeros((SIDE * SIDE, BLOCKS * BLOCKS), dtype=np.float64)
    out[np.arange(SIDE * SIDE), _pixel_blocks()] = 1.0
    return out


@cache
def _natural_order() -> np.ndarray:
    """The pixel order undoing `_block_order`: rows laid out block by block back to row by row."""
    return np.argsort(_block_order())


@cache
def _moved_blocks() -> np.ndarray:
    """(8, BLOCKS**2): for each turn, the block of the unturned image each block of its view
    (as `_undo_turns` lays it out) comes from."""
    return _pixel_blocks()[_undo_turns()[:, :: _BLOCK * _BLOCK]]  # the block of a pixel of each block of each view


def _laid_out(owner: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(owners, slot, rank, width): the distinct owners, and each entry's owner among them and
    place among that owner's entries; width is the busiest owner's count."""
    owners, slot, per_owner = np.unique(owner, return_inverse=True, return_counts=True)
    by_owner = np.argsort(slot, kind="stable")
    rank = np.empty(len(owner), dtype=np.int64)
    rank[by_owner] = np.arange(len(owner)) - np.repeat(np.cumsum(per_owner) - per_owner, per_owner)
    return owners, slot, rank, int(per_owner.max())


def scores_between(sigs: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = CHUNK, threads: int = 1) -> np.ndarray:
    """Structural similarity (about -1..1; copies > 0.9) of pairs given as indices into `sigs`.

    `sigs` is (N, SIDE, SIDE) from `unpack` (uint8 keeps a million photos at 1 KB
    each). The score is symmetric: the better of cropping either side. Entries
    are scored about `chunk` at a time, photos with alike numbers of entries
    together (little padding), so memory stays bounded however many pairs a k-NN
    graph holds; `threads` score chunks side by side (numpy lets go of the GIL).
    """
    rows = _blocked(np.asarray(sigs, dtype=np.uint8).reshape(len(sigs), -1))
    return _scores(rows, _block_stats(rows), _layout(a, b, chunk), threads)


def blob_scores(blobs: list[bytes], a: np.ndarray, b: np.ndarray, threads: int = 1) -> np.ndarray:
    """`scores_between` of `unpack(blobs)`, unpacked straight into the order scoring reads
    (a million photos' signatures are 1 GB: one copy of them, not two). The entries' order
    is worked out on another thread meanwhile: each is ~8 s on one core at a million photos."""
    with ThreadPoolExecutor(1) as aside:
        layout = aside.submit(_layout, a, b, CHUNK)
        rows = _blocked(np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), SIDE * SIDE))
        stats = _block_stats(rows)
        return _scores(rows, stats, layout.result(), threads)


def _blocked(flat: np.ndarray) -> np.ndarray:
    """(N, SIDE*SIDE) signatures laid out block by block: once per photo, not once per pair."""
    return np.take(flat, _block_order(), axis=1)


#: (owner, other, chunks): each pair's two entries, and the chunks they are scored in.
_Layout = tuple[np.ndarray, np.ndarray, list[np.ndarray]]


def _layout(a: np.ndarray, b: np.ndarray, chunk: int) -> _Layout:
    """Both entries of every pair (a, b): (a, b) first, then (b, a), in `_chunks_by_owner`'s chunks."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    owner = np.concatenate([a, b])
    return owner, np.concatenate([b, a]), list(_chunks_by_owner(owner, chunk))


def _scores(rows: np.ndarray, stats: _BlockStats, layout: _Layout, threads: int = 1) -> np.ndarray:
    owner, other, chunks = layout
    one_way = np.empty(len(owner), dtype=np.float32)

    def score(part: np.ndarray) -> None:
        one_way[part] = _owned_scores(rows, stats, owner[part], other[part])

    # The products are small: BLAS's own threads only wait on each other (2 cores: the same
    # time for 1.5x the CPU), while whole chunks side by side score 1.7x as fast.
    with threadpool_limits(limits=1, user_api="blas"):
        _each(score, iter(chunks), threads)
    pairs = len(owner) // 2
    return np.maximum(one_way[:pairs], one_way[pairs:])


class _BlockStats(NamedTuple):
    """Each photo's per-block sums and sums of squares of its grey levels centred on 128,
    (N, blocks) float32: worked out once per photo rather than once per entry. Integers
    under 2^24, so exactly the sums a product would give in any order."""

    sums: np.ndarray
    squares: np.ndarray


def _block_stats(rows: np.ndarray) -> _BlockStats:
    sums = np.empty((len(rows), BLOCKS * BLOCKS), dtype=np.float32)
    squares = np.empty_like(sums)
    for start in range(0, len(rows), _STATS_ROWS):
        centred = (rows[start : start + _STATS_ROWS].astype(np.int32) - 128).reshape(-1, BLOCKS * BLOCKS, _BLOCK * _BLOCK)
        sums[start : start + _STATS_ROWS] = centred.sum(axis=2)
        squares[start : start + _STATS_ROWS] = np.square(centred).sum(axis=2)
    return _BlockStats(sums, squares)


#: Photos whose block statistics are worked out at once (bounds the int32 temporaries).
_STATS_ROWS = 16_384


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
    """Entry positions, each owner's entries whole, owners in order of their entry count:
    one ordering of every entry, then slices of it (a million photos have a million owners)."""
    by_owner = np.argsort(owner, kind="stable")
    _, firsts, counts = np.unique(owner[by_owner], return_index=True, return_counts=True)
    by_count = np.argsort(counts, kind="stable")
    lengths = counts[by_count]
    ends = np.cumsum(lengths)
    # Owner after owner (fewest entries first), each owner's entries in their own order.
    order = by_owner[np.repeat(firsts[by_count] - (ends - lengths), lengths) + np.arange(len(owner))]
    start = 0
    while start < len(by_count):
        stop = max(int(np.searchsorted(ends, ends[start] - lengths[start] + size, side="right")), start + 1)
        yield order[ends[start] - lengths[start] : ends[stop - 1]]
        start = stop


def pair_scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`scores_between` of the pairs (a[i], b[i]) of (P, SIDE, SIDE) signature arrays."""
    pairs = np.arange(len(a))
    return scores_between(np.concatenate([a, b]), pairs, pairs + len(a))
