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
