"""The structural check: copies line up with their original, other shots of a scene do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.core.matching import structure
from lookalike.core.config import DUPLICATE_THRESHOLD
from lookalike.core.scan.images import decode


def _sig(path: Path) -> bytes:
    return structure.signature(decode(path, (224, 224)).pixels)


def _score(a: bytes, b: bytes) -> float:
    return float(structure.pair_scores(structure.unpack([a]), structure.unpack([b]))[0])


@pytest.mark.parametrize("original,copy", [
    ("chelsea.jpg", "copies/chelsea_small.jpg"),
    ("coffee.jpg", "copies/coffee_cropped.jpg"),
    ("rocket.jpg", "copies/rocket_rotated.jpg"),
    ("rocket.jpg", "copies/rocket_gray.png"),
])
def test_copies_line_up(samples: Path, original: str, copy: str) -> None:
    assert _score(_sig(samples / original), _sig(samples / copy)) >= DUPLICATE_THRESHOLD


def test_sideways_and_mirrored_copies_line_up(samples: Path, tmp_path: Path) -> None:
    with Image.open(samples / "astronaut.jpg") as im:
        im.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "sideways.jpg")
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "mirror.jpg")
    original = _sig(samples / "astronaut.jpg")
    assert _score(original, _sig(tmp_path / "sideways.jpg")) >= DUPLICATE_THRESHOLD
    assert _score(original, _sig(tmp_path / "mirror.jpg")) >= DUPLICATE_THRESHOLD


def test_overlapping_views_of_one_scene_do_not(samples: Path, tmp_path: Path) -> None:
    with Image.open(samples / "hubble_deep_field.jpg") as im:
        w, h = im.size
        im.crop((0, 0, int(w * 0.7), h)).save(tmp_path / "left.jpg")
        im.crop((int(w * 0.3), 0, w, h)).save(tmp_path / "right.jpg")
    assert _score(_sig(tmp_path / "left.jpg"), _sig(tmp_path / "right.jpg")) < DUPLICATE_THRESHOLD


def test_unrelated_photos_score_low(samples: Path) -> None:
    names = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg", "hubble_deep_field.jpg"]
    sigs = [_sig(samples / n) for n in names]
    scores = [_score(sigs[i], sigs[j]) for i in range(len(sigs)) for j in range(i + 1, len(sigs))]
    assert max(scores) < 0.7


def test_flat_images_are_not_called_copies() -> None:
    flat = structure.signature(np.full((64, 64, 3), 128, dtype=np.uint8))
    noisy = structure.signature(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    assert _score(flat, noisy) < 0.5


def test_scores_are_symmetric(samples: Path) -> None:
    a, b = _sig(samples / "coffee.jpg"), _sig(samples / "copies/coffee_cropped.jpg")
    assert _score(a, b) == pytest.approx(_score(b, a), abs=1e-6)


@pytest.mark.devset
def test_devset_copies_and_similar_pairs_are_separated(devset: Path, truth: dict) -> None:
    kinds = truth["variant_kind"]
    pairs = [(g[0], c) for g in truth["groups"] for c in g[1:]]
    sigs = {n: _sig(devset / n) for pair in pairs + [tuple(p) for p in truth["similar"]] for n in pair}
    copies = structure.pair_scores(
        structure.unpack([sigs[a] for a, _ in pairs]), structure.unpack([sigs[b] for _, b in pairs])
    )
    similar = structure.pair_scores(
        structure.unpack([sigs[a] for a, _ in truth["similar"]]),
        structure.unpack([sigs[b] for _, b in truth["similar"]]),
    )
    worst = {kinds[b]: min(s, 1.0) for (_, b), s in sorted(zip(pairs, copies), key=lambda x: -x[1])}
    print({k: round(float(v), 3) for k, v in sorted(worst.items())}, "similar max", float(similar.max()))
    assert copies.min() >= DUPLICATE_THRESHOLD > similar.max()


def test_scores_by_index_equal_scores_of_gathered_pairs(samples: Path) -> None:
    blobs = [_sig(p) for p in sorted(samples.rglob("*.jp*g"))]
    a, b = np.array([0, 1, 2, 3, 0]), np.array([1, 2, 3, 4, 4])
    direct = structure.pair_scores(structure.unpack(blobs)[a], structure.unpack(blobs)[b])
    chunked = structure.scores_between(structure.unpack(blobs, np.uint8), a, b, chunk=2)
    np.testing.assert_allclose(chunked, direct, atol=1e-6)


def test_scores_on_several_threads_are_those_of_one(samples: Path) -> None:
    """Chunks scored side by side land on their own pairs (each chunk's photos differ)."""
    blobs = [_sig(p) for p in sorted(samples.rglob("*.jp*g"))]
    sigs = structure.unpack(blobs, np.uint8)
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, len(blobs), 400), rng.integers(0, len(blobs), 400)
    one = structure.scores_between(sigs, a, b, chunk=16)
    np.testing.assert_array_equal(structure.scores_between(sigs, a, b, chunk=16, threads=3), one)
    np.testing.assert_allclose(one, structure.pair_scores(sigs[a].astype(np.float32), sigs[b].astype(np.float32)), atol=1e-6)


def test_a_failing_chunk_stops_threaded_scoring(samples: Path) -> None:
    sigs = structure.unpack([_sig(p) for p in sorted(samples.rglob("*.jp*g"))], np.uint8)
    with pytest.raises(IndexError):
        structure.scores_between(sigs, np.arange(40) % len(sigs), np.full(40, len(sigs) + 7), chunk=4, threads=2)


def _by_the_rule(x: np.ndarray, y: np.ndarray) -> float:
    """The score as the module states it, one pair at a time in float64: each centre crop of
    one photo in each of the 8 turns; the view correlating best with the other photo as a
    whole is kept; its 8x8 blocks are correlated (norms floored at the flat-block contrast)
    and the best three quarters averaged; the better of the two ways round."""
    side, block = structure.SIDE, structure.SIDE // structure.BLOCKS
    floor = 2.0 * block

    def blocks(image: np.ndarray) -> np.ndarray:
        grid = image.reshape(structure.BLOCKS, block, structure.BLOCKS, block).swapaxes(1, 2).reshape(-1, block * block)
        return grid - grid.mean(axis=1, keepdims=True)

    def one_way(owner: np.ndarray, other: np.ndarray) -> float:
        other = other.astype(np.float64) - 128
        views = []
        for keep in structure.CROPS:
            matrix = structure._crop_matrix(keep).astype(np.float64)
            crop = matrix @ (owner.astype(np.float64) - 128) @ matrix.T
            fit_scale = max(np.linalg.norm(crop - crop.mean()), floor)
            views += [(np.rot90(m, k), fit_scale) for m in (crop, crop[:, ::-1]) for k in range(4)]
        fits = [float(((view - view.mean()) * other).sum()) / scale for view, scale in views]
        best = views[int(np.argmax(fits))][0]
        a, b = blocks(best), blocks(other)
        per_block = (a * b).sum(axis=1) / (
            np.maximum(np.linalg.norm(a, axis=1), floor) * np.maximum(np.linalg.norm(b, axis=1), floor)
        )
        kept = int(round(len(per_block) * structure.KEEP))
        return float(np.sort(per_block)[::-1][:kept].mean())

    assert x.shape == y.shape == (side, side)
    return max(one_way(x, y), one_way(y, x))


def test_scores_are_the_rule_worked_pair_by_pair(samples: Path, tmp_path: Path) -> None:
    """The batched scoring (per-block products of every view at once) gives the score the rule
    defines, on copies turned, mirrored and cropped as well as on unrelated photos."""
    photo = Image.open(samples / "rocket.jpg").convert("RGB")
    photo.transpose(Image.Transpose.ROTATE_270).save(tmp_path / "sideways.jpg")
    photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "mirrored.jpg")
    paths = sorted(samples.rglob("*.jp*g")) + sorted(tmp_path.glob("*.jpg"))
    blobs = [_sig(p) for p in paths]
    sigs = structure.unpack(blobs, np.uint8)
    a, b = np.triu_indices(len(blobs), 1)
    batched = structure.scores_between(sigs, a, b, chunk=8)
    expected = [_by_the_rule(sigs[i], sigs[j]) for i, j in zip(a, b)]
    np.testing.assert_allclose(batched, expected, atol=2e-4)
    np.testing.assert_array_equal(structure.blob_scores(blobs, a, b), structure.scores_between(sigs, a, b))
    assert (batched > 0.9).sum() >= 3  # the copies among them line up (not a vacuous comparison)
