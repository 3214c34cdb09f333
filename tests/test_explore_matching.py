"""Set-to-set similarity: greedy and optimal one-to-one matching, pair threshold s and cap m."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lookalike.core.explore import matching
from lookalike.core.explore.albums import compare_sets


def _both(sim: list[list[float]], s: float, m: int | None = None) -> tuple[float, float]:
    pairs = matching.from_matrix(np.array(sim), s)
    size_a, size_b = len(sim), len(sim[0])
    return (matching.set_similarity(matching.greedy(pairs), size_a, size_b, m),
            matching.set_similarity(matching.optimal(pairs), size_a, size_b, m))


def test_greedy_is_worse_when_the_best_pair_blocks_two_good_ones() -> None:
    # Greedy takes a0-b0 (0.9) and is left with a1-b1 (0.1, under s): one match.
    # Optimal takes a0-b1 and a1-b0 (0.8 + 0.8): both photos matched.
    sim = [[0.9, 0.8], [0.8, 0.1]]
    greedy, optimal = _both(sim, s=0.5)
    assert greedy == pytest.approx(0.9 / 2)
    assert optimal == pytest.approx(1.6 / 2)
    best = matching.optimal(matching.from_matrix(np.array(sim), 0.5))
    assert sorted(zip(best.a.tolist(), best.b.tolist())) == [(0, 1), (1, 0)]
    first = matching.greedy(matching.from_matrix(np.array(sim), 0.5))
    assert list(zip(first.a.tolist(), first.b.tolist())) == [(0, 0)]


def test_greedy_equals_optimal_without_conflicts() -> None:
    sim = [[0.95, 0.2, 0.1], [0.3, 0.92, 0.2], [0.1, 0.25, 0.97]]
    greedy, optimal = _both(sim, s=0.5)
    assert greedy == optimal == pytest.approx((0.95 + 0.92 + 0.97) / 3)


def test_pairs_below_s_never_match_and_count_as_zero() -> None:
    sim = [[0.95, 0.0], [0.0, 0.7]]
    assert _both(sim, s=0.5) == (pytest.approx(1.65 / 2), pytest.approx(1.65 / 2))
    assert _both(sim, s=0.8) == (pytest.approx(0.95 / 2), pytest.approx(0.95 / 2))
    assert _both(sim, s=0.99) == (0.0, 0.0)


def test_unmatched_photos_of_the_larger_set_lower_the_similarity() -> None:
    # A copy holding 2 of 4 photos: half the slots are empty.
    sim = [[1.0, 0.0], [0.0, 1.0], [0.1, 0.1], [0.2, 0.1]]
    assert _both(sim, s=0.9) == (pytest.approx(0.5), pytest.approx(0.5))


def test_m_averages_only_the_best_m_matches() -> None:
    sim = [[1.0, 0.0, 0.0], [0.0, 0.9, 0.0], [0.0, 0.0, 0.6]]
    assert _both(sim, s=0.5, m=None)[1] == pytest.approx(2.5 / 3)
    assert _both(sim, s=0.5, m=1)[1] == pytest.approx(1.0)
    assert _both(sim, s=0.5, m=2)[1] == pytest.approx(0.95)
    # m larger than the sets: the sets' size is the denominator, as without a cap.
    assert _both(sim, s=0.5, m=10)[1] == pytest.approx(2.5 / 3)
    # A cap over a mostly missing copy: the few matches it has still fill only their slots.
    assert _both([[1.0], [0.0], [0.0]], s=0.5, m=2)[1] == pytest.approx(0.5)


def test_optimal_solves_each_tangle_exactly() -> None:
    """Per-component assignment = the brute-force best total on random sparse cases."""
    rng = np.random.default_rng(5)
    for _ in range(40):
        sim = rng.uniform(0, 1, (5, 4)) * (rng.uniform(0, 1, (5, 4)) < 0.5)
        s = 0.3
        total = float(matching.optimal(matching.from_matrix(sim, s)).similarity.sum())
        best = 0.0
        for perm in itertools.permutations(range(5), 4):  # which a matches each b (or none when < s)
            best = max(best, sum(sim[a, b] for b, a in enumerate(perm) if sim[a, b] >= s))
        assert total == pytest.approx(best, abs=1e-5)
        greedy = float(matching.greedy(matching.from_matrix(sim, s)).similarity.sum())
        assert greedy <= total + 1e-6


def test_compare_sets_names_the_photos_on_one_side_only() -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal((6, 32)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    noisy = base[[0, 1, 3, 5]] + 0.02 * rng.standard_normal((4, 32)).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    result = compare_sets([f"a{i}" for i in range(6)], base, ["b0", "b1", "b3", "b5"], noisy, s=0.9)
    assert sorted((a, b) for a, b, _ in result.pairs) == [("a0", "b0"), ("a1", "b1"), ("a3", "b3"), ("a5", "b5")]
    assert result.only_a == ["a2", "a4"]
    assert result.only_b == []
    assert 0.6 < result.similarity_optimal <= 4 / 6
    assert result.to_dict()["only_a"] == ["a2", "a4"]
