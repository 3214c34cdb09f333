"""The HNSW graph of a compact index (core/engines/links.py): what it finds, how it follows
removals and re-embedded photos, and how it is saved and read back."""

from __future__ import annotations

import io

import numpy as np
import pytest

from lookalike.core.engines import links
from lookalike.core.engines.links import LinkGraph
from test_codes import _recall
from test_projection import low_rank

DIM = 48


def _graph(rows: np.ndarray, keys: np.ndarray, threads: int = 2) -> LinkGraph:
    graph = LinkGraph(rows.shape[1], threads)
    graph.add(keys, rows)
    return graph


def test_the_graph_finds_the_nearest_rows_on_both_threads() -> None:
    """5,000 rows of a 20-dim spread (past SEED, so both threads insert): the 10 nearest by
    cosine, found by walking the graph."""
    rows = low_rank(5000, DIM, rank=20, seed=11)
    keys = np.arange(len(rows), dtype=np.int64) * 3 + 7
    graph = _graph(rows, keys)
    exact = keys[np.argsort(-(rows[:300] @ rows.T), axis=1)[:, :10]]
    found = graph.search(rows[:300], 10, expansion=64)
    print(f"recall@10 of the compact graph over 5,000 rows: {_recall(found, exact):.4f}")
    assert _recall(found, exact) >= 0.95  # 8-bit codes blur near-ties: 0.964 here at any effort
    assert found[:, 0].tolist() == keys[:300].tolist()  # each row finds itself first
    assert len(graph) == 5000 and graph.nbytes > 5000 * DIM


def test_removed_keys_are_never_answered_and_a_readded_key_is_its_new_row() -> None:
    rows = low_rank(3000, DIM, rank=20, seed=12)
    keys = np.arange(len(rows), dtype=np.int64) + 1
    graph = _graph(rows, keys)
    gone = keys[:200]
    graph.remove(gone)
    graph.remove(np.array([10**9]))  # never held: ignored
    assert len(graph) == 2800
    found = graph.search(rows[:200], 5, expansion=64)
    assert not np.isin(found, gone).any() and (found >= 0).all()
    # A re-embedded photo: its key removed, then added with another vector (here row 500's).
    graph.add(keys[:1], rows[500:501])
    found = graph.search(rows[[0, 500]], 2, expansion=64)
    assert keys[0] not in found[0]  # the old vector's node stays unanswered
    assert sorted(found[1].tolist()) == sorted([int(keys[0]), int(keys[500])])
    assert len(graph) == 2801


def test_a_saved_graph_reads_back_with_its_removals() -> None:
    rows = low_rank(2500, DIM, rank=20, seed=13)
    keys = np.arange(len(rows), dtype=np.int64) + 1
    graph = _graph(rows, keys)
    graph.remove(keys[:50])
    saved = io.BytesIO()
    graph.save(saved)
    assert LinkGraph.held_in(saved) == 2450
    back = LinkGraph.load(saved, DIM, threads=1)
    assert np.array_equal(back.search(rows[:100], 5, expansion=64), graph.search(rows[:100], 5, expansion=64))
    assert not np.isin(back.search(rows[:50], 5, expansion=64), keys[:50]).any()
    with pytest.raises(ValueError, match="another form"):
        LinkGraph.load(saved, DIM + 1, threads=1)


def test_a_graph_of_another_layout_or_damaged_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = low_rank(300, DIM, rank=10, seed=14)
    saved = io.BytesIO()
    _graph(rows, np.arange(300, dtype=np.int64)).save(saved)
    monkeypatch.setattr(links, "VERSION", links.VERSION + 1)
    with pytest.raises(ValueError, match="layout"):
        LinkGraph.load(saved, DIM, threads=1)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="cannot read"):
        LinkGraph.load(io.BytesIO(saved.getvalue()[: len(saved.getvalue()) // 2]), DIM, threads=1)
