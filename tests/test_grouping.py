"""Star grouping on the k-NN graph: no chaining, one group per file, decisions honoured."""

from __future__ import annotations

import os
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookalike.core.matching import scene, structure
from lookalike.core.matching.graph import KnnGraph, best_first_within
from lookalike.core.matching.grouping import star_groups
from lookalike.core.engines.index import VectorIndex


def exact_graph(vectors: np.ndarray, ids: np.ndarray, floor: float) -> KnnGraph:
    """Every pair at or above `floor`: the graph an exact, unbounded search would give."""
    sims = vectors @ vectors.T
    src, dst = np.nonzero(np.triu(sims >= floor, 1))
    return KnnGraph.from_edges(ids, src, dst, sims[src, dst], floor)


def chain() -> KnnGraph:
    """A ~ B ~ C ~ D at 0.95, far ends unrelated (0.60), ids 10, 20, 30, 40."""
    ids = np.array([10, 20, 30, 40])
    src, dst = np.array([0, 1, 2, 0, 1, 0]), np.array([1, 2, 3, 2, 3, 3])
    sim = np.array([0.95, 0.95, 0.95, 0.60, 0.60, 0.55], dtype=np.float32)
    return KnnGraph.from_edges(ids, src, dst, sim, floor=0.5)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 40),
    dim=st.integers(2, 6),
    seed=st.integers(0, 2**31 - 1),
    threshold=st.floats(0.5, 0.99),
    excluded_count=st.integers(0, 6),
)
def test_every_member_is_close_to_its_representative(
    n: int, dim: int, seed: int, threshold: float, excluded_count: int
) -> None:
    rng = np.random.default_rng(seed)
    vectors = np.abs(rng.standard_normal((n, dim))).astype(np.float32)  # positive, like the model's
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.sort(rng.choice(10_000, n, replace=False)).astype(np.int64)
    excluded = {tuple(sorted(map(int, rng.choice(ids, 2, replace=False)))) for _ in range(excluded_count)}
    groups = star_groups(exact_graph(vectors, ids, 0.5), threshold, excluded)

    position = {int(i): p for p, i in enumerate(ids)}
    seen: set[int] = set()
    for group in groups:
        assert len(group.members) >= 2 and group.similarities[0] == 1.0
        assert not seen & set(group.members), "a file in two groups"
        seen |= set(group.members)
        rep = vectors[position[group.representative]]
        for member, similarity in zip(group.members[1:], group.similarities[1:]):
            true = float(rep @ vectors[position[member]])
            assert similarity >= np.float32(threshold) and similarity == pytest.approx(true, abs=1e-5)
        for a, b in excluded:
            assert not (a in group.members and b in group.members)


def test_no_chaining_along_a_line_of_close_pairs() -> None:
    (group,) = star_groups(chain(), 0.9)
    # B leads (ties with C, lower id) and takes its neighbours A and C; D, close only
    # to C, is not pulled in through it (linking every pair would give A..D).
    assert group.members == (20, 10, 30) and group.similarities == pytest.approx((1.0, 0.95, 0.95))


def test_the_file_with_most_neighbours_represents_the_group() -> None:
    ids = np.arange(1, 6)
    # 3 is close to everyone; 1 and 5 are close to 3 only.
    src, dst = np.array([2, 2, 2, 2, 1, 3]), np.array([0, 1, 3, 4, 3, 4])
    sim = np.array([0.91, 0.97, 0.96, 0.92, 0.93, 0.94], dtype=np.float32)
    (group,) = star_groups(KnnGraph.from_edges(ids, src, dst, sim, 0.5), 0.9)
    assert group.representative == 3
    assert group.members == (3, 2, 4, 5, 1)  # then by similarity to 3
    assert group.similarities == pytest.approx((1.0, 0.97, 0.96, 0.92, 0.91))


def test_excluded_pairs_and_hidden_files() -> None:
    graph = chain()
    assert [g.members for g in star_groups(graph, 0.9, excluded={(10, 20)})] == [(30, 20, 40)]
    assert [g.members for g in star_groups(graph, 0.9, hidden={20})] == [(30, 40)]
    # Two members of one star marked apart: the less similar one leaves that group.
    ids = np.array([1, 2, 3])
    star = KnnGraph.from_edges(ids, np.array([0, 0, 1]), np.array([1, 2, 2]), np.float32([0.99, 0.95, 0.93]), 0.5)
    groups = star_groups(star, 0.9, excluded={(2, 3)})
    assert [g.members for g in groups] == [(1, 2)]


def test_thresholds_regroup_from_one_graph() -> None:
    graph = chain()
    assert [g.members for g in star_groups(graph, 0.9)] == [(20, 10, 30)]
    (loose,) = star_groups(graph, 0.58)  # B and C tie on neighbours and sum: the lower id leads
    assert loose.members == (20, 10, 30, 40) and loose.similarities == pytest.approx((1.0, 0.95, 0.95, 0.60))
    assert star_groups(graph, 0.96) == []
    with pytest.raises(ValueError, match="floor"):
        star_groups(graph, 0.4)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), edges=st.integers(0, 400), seed=st.integers(0, 2**31 - 1), ties=st.booleans())
def test_adjacency_lists_each_node_best_first_then_by_neighbour(n: int, edges: int, seed: int, ties: bool) -> None:
    """Whatever the edge list (repeats, both directions, tied and signed-zero similarities),
    each node lists the pair's first edge by similarity descending, ties by neighbour; the
    packed-key sort and the lexsort it falls back to (keys too wide) give the same order."""
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, edges), rng.integers(0, n, edges)
    src, dst = src[src != dst], dst[src != dst]
    levels = np.float32([0.3, 0.5, 0.9, 1.0, 0.0, -0.0])
    sim = rng.choice(levels, len(src)) if ties else rng.uniform(0.3, 1, len(src)).astype(np.float32)
    graph = KnnGraph.from_edges(np.arange(n) * 2, src, dst, sim, floor=0.3)

    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    _, first = np.unique(lo * n + hi, return_index=True)
    u, v = np.concatenate([lo[first], hi[first]]), np.concatenate([hi[first], lo[first]])
    w = np.concatenate([sim[first], sim[first]]) + np.float32(0.0)  # -0.0 ties with 0.0
    expected = np.lexsort((v, -w, u))
    assert np.array_equal(graph.indptr, np.concatenate([[0], np.cumsum(np.bincount(u, minlength=n))]))
    assert np.array_equal(graph.nbr, v[expected]) and np.array_equal(graph.sim, w[expected])

    by_neighbour = np.lexsort((v, u))
    packed = best_first_within(graph.indptr, w[by_neighbour])
    assert np.array_equal(packed, best_first_within(graph.indptr, w[by_neighbour], key_bits=32))
    assert np.array_equal(by_neighbour[packed], expected)


def test_grouping_is_deterministic_whatever_the_edge_order() -> None:
    rng = np.random.default_rng(7)
    vectors = np.abs(rng.standard_normal((60, 4))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(100, 160)
    graph = exact_graph(vectors, ids, 0.5)
    src, dst, sim = graph.edges_above(0.5)
    order = rng.permutation(len(src))
    shuffled = KnnGraph.from_edges(ids, dst[order], src[order], sim[order], 0.5)
    assert star_groups(graph, 0.95) == star_groups(shuffled, 0.95)


def test_graph_from_an_index_and_its_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    centres = np.abs(rng.standard_normal((20, 16))).astype(np.float32)
    vectors = np.repeat(centres, 5, axis=0) + 0.05 * rng.standard_normal((100, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, 101) * 3
    index = VectorIndex(16)
    index.build(ids, vectors)
    graph = KnnGraph.build(index, k=8, floor=0.5)

    src, dst, sim = graph.edges_above(0.9)
    assert np.all(src < dst) and np.all(sim >= np.float32(0.9))
    assert np.allclose(sim, np.einsum("ij,ij->i", vectors[src], vectors[dst]), atol=2e-3)
    clusters = {frozenset(g.members) for g in star_groups(graph, 0.9)}
    assert clusters == {frozenset(ids[i * 5 : i * 5 + 5].tolist()) for i in range(20)}

    graph.save(tmp_path / "g.npz")
    loaded = KnnGraph.load(tmp_path / "g.npz")
    assert loaded.floor == 0.5 and loaded.k == 8
    assert star_groups(loaded, 0.9) == star_groups(graph, 0.9)
    with pytest.raises(ValueError):
        KnnGraph.load(tmp_path / "missing.npz")


@pytest.mark.skipif(os.name == "nt", reason="Windows reads saved graphs instead of mapping them")
def test_a_saved_graph_is_mapped_not_read_and_survives_being_replaced(tmp_path: Path) -> None:
    """Opening a graph maps its arrays from the file (a million photos' graph is ~0.9 GB);
    a newer graph saved over it (renamed into place) leaves the mapped one readable."""
    rng = np.random.default_rng(5)
    src, dst = rng.integers(0, 500, 4000), rng.integers(0, 500, 4000)
    keep = src != dst
    sims = rng.uniform(0.3, 1.0, int(keep.sum())).astype(np.float32)
    graph = KnnGraph.from_edges(np.arange(500) * 2 + 1, src[keep], dst[keep], sims, floor=0.3,
                                structure=sims * 0.9, proof=np.zeros(int(keep.sum()), np.int8))
    path = tmp_path / "g.npz"
    graph.save(path)
    loaded = KnnGraph.load(path)
    for name in ("ids", "indptr", "nbr", "sim", "structure", "proof"):
        array = getattr(loaded, name)
        assert isinstance(array, np.memmap) and not array.flags.writeable, name
        assert np.array_equal(array, getattr(graph, name)), name
    expected = star_groups(graph, 0.8)
    assert star_groups(loaded, 0.8) == expected
    assert star_groups(loaded, 0.7, by="structure") == star_groups(graph, 0.7, by="structure")

    KnnGraph.from_edges(np.arange(3), np.array([0]), np.array([1]), np.array([0.9], np.float32), floor=0.3).save(path)
    assert len(KnnGraph.load(path)) == 3
    assert star_groups(loaded, 0.8) == expected  # the old map still reads the old graph


@pytest.mark.parametrize("member", ["nbr", "proof", "indptr"])
def test_a_damaged_graph_is_refused_not_grouped(tmp_path: Path, member: str) -> None:
    """Mapped arrays are not checked by reading them: who links to whom and the proof
    verdicts are checked against the file's checksums, so a damaged cache is rebuilt
    rather than trusted (a flipped verdict would make two pictures duplicates)."""
    rng = np.random.default_rng(9)
    src, dst = rng.integers(0, 200, 1500), rng.integers(0, 200, 1500)
    keep = src != dst
    edges = int(keep.sum())
    graph = KnnGraph.from_edges(np.arange(200), src[keep], dst[keep], np.full(edges, 0.9, np.float32), floor=0.3,
                                structure=np.full(edges, 0.95, np.float32), proof=np.zeros(edges, np.int8))
    path = tmp_path / "g.npz"
    graph.save(path)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(f"{member}.npy")
    raw = bytearray(path.read_bytes())
    at = info.header_offset + 30 + len(info.filename) + info.file_size - 8  # the member's last bytes
    raw[at : at + 4] = bytes(4 * [3])  # e.g. verdicts turned to SAME_PICTURE
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="damaged|CRC|zip"):
        KnnGraph.load(path)


def _scene_rule(graph: KnnGraph, similarity: np.ndarray) -> np.ndarray:
    """scene.scores as its docstring states it, node by node."""
    density = np.full(len(graph), scene.UNRELATED, dtype=np.float32)  # nodes without entries too
    for node in range(len(graph)):
        own = similarity[graph.indptr[node] : graph.indptr[node + 1]][: graph.k]
        if len(own):
            density[node] = np.nanmin(own) if not np.isnan(own).all() else np.nan
        if len(own) < graph.k:
            density[node] = np.fmin(density[node], scene.UNRELATED)
    return np.minimum(similarity - (density[graph.owners()] + density[graph.nbr]) / 2, 1.0)


def test_scene_scores_in_node_blocks_follow_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each entry's scene score is its similarity minus the mean density of its two nodes
    (the lowest similarity among a node's own k first entries, at most UNRELATED when its
    list is shorter than k), however many node blocks the work is split into, and for
    the entries a regroup asks for alone."""
    rng = np.random.default_rng(7)
    src, dst = rng.integers(0, 300, 2500), rng.integers(0, 300, 2500)
    keep = src != dst
    graph = KnnGraph.from_edges(np.arange(340), src[keep], dst[keep], rng.uniform(0.3, 1, int(keep.sum())).astype(np.float32), floor=0.3, k=6)
    similarity = rng.uniform(-0.2, 0.9, len(graph.nbr)).astype(np.float32)
    similarity[rng.random(len(similarity)) < 0.05] = np.nan
    expected = _scene_rule(graph, similarity)
    for block in (7, 64, 100_000):
        monkeypatch.setattr(scene, "_NODES", block)
        np.testing.assert_array_equal(scene.scores(similarity, graph.indptr, graph.nbr, graph.k), expected)
    some = np.flatnonzero(rng.random(len(similarity)) < 0.1)  # a regroup scores only the entries past the gate
    entries = (some, graph.owners()[some])
    np.testing.assert_array_equal(scene.scores(similarity, graph.indptr, graph.nbr, graph.k, entries), expected[some])
    short = chain()  # every list shorter than k: the last list's head ends with the entries
    similarity = rng.uniform(-0.2, 0.9, len(short.nbr)).astype(np.float32)
    np.testing.assert_array_equal(scene.scores(similarity, short.indptr, short.nbr, short.k), _scene_rule(short, similarity))


@settings(max_examples=25, deadline=None)
@given(nodes=st.integers(2, 160), edges=st.integers(1, 600), seed=st.integers(0, 2**31 - 1))
def test_each_pair_gets_its_own_scores_on_both_entries(nodes: int, edges: int, seed: int) -> None:
    """Structural and scene scores are computed once per pair (u < v) and written to both of
    its entries: each entry holds the score of its own two photos, whatever the graph."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(10_000, nodes + 5, replace=False))  # a few nodes without edges
    src, dst = rng.integers(0, nodes, edges), rng.integers(0, nodes, edges)
    keep = src != dst
    if not keep.any():
        return
    graph = KnnGraph.from_edges(ids, src[keep], dst[keep], rng.uniform(0.3, 1, int(keep.sum())).astype(np.float32), floor=0.3)
    signatures = {int(i): rng.integers(0, 256, structure.SIDE**2, dtype=np.uint8).tobytes() for i in ids}
    vectors = rng.standard_normal((len(ids), 16)).astype(np.float32)
    by_id = lambda wanted: vectors[np.searchsorted(ids, wanted)]  # noqa: E731

    scored = graph.with_structure(lambda wanted: {int(i): signatures[int(i)] for i in wanted}).with_scene(by_id)

    u, v = graph.owners(), graph.nbr
    sigs = structure.unpack([signatures[int(i)] for i in ids], np.uint8)
    np.testing.assert_allclose(scored.structure, structure.scores_between(sigs, u, v), atol=1e-6)
    projected = scene.project(vectors, scored.basis)
    np.testing.assert_allclose(scored.scene, np.einsum("ij,ij->i", projected[u], projected[v]), atol=1e-6)


def test_a_graph_that_is_not_symmetric_is_refused() -> None:
    graph = KnnGraph.from_edges(np.array([1, 2, 3]), np.array([0, 1]), np.array([1, 2]), np.array([0.9, 0.8], np.float32), floor=0.3)
    one_way = replace(graph, indptr=np.array([0, 1, 2, 2]), nbr=graph.nbr[[0, 2]], sim=graph.sim[[0, 2]])  # 2 -> 3 lost
    with pytest.raises(ValueError, match="not symmetric"):
        one_way.with_structure(lambda wanted: {int(i): bytes(structure.SIDE**2) for i in wanted})


def _one_by_one(graph: KnnGraph, threshold: float, by: str) -> list[tuple[tuple[int, ...], tuple[float, ...]]]:
    """star_groups as the module docstring states it, a file at a time: the reference."""
    u, v, w = graph.adjacency(threshold, by)  # type: ignore[arg-type]
    lists: dict[int, list[tuple[int, float]]] = {}
    for a, b, s in zip(u.tolist(), v.tolist(), w.tolist()):
        lists.setdefault(a, []).append((b, s))
    strength = {a: float(np.bincount(u, weights=w)[a]) for a in lists}
    claimed: set[int] = set()
    reps: list[int] = []
    for node in sorted(lists, key=lambda a: (-len(lists[a]), -strength[a], a)):
        if node not in claimed:
            reps.append(node)
            claimed |= {node, *(b for b, _ in lists[node])}
    members: dict[int, list[tuple[int, float]]] = {r: [(r, 1.0)] for r in reps}
    for node, entries in lists.items():
        near = [(b, s) for b, s in entries if b in members and node not in members]
        if near:
            best = max(s for _, s in near)
            members[next(b for b, s in near if s == best)].append((node, best))
    out = []
    for rep in sorted(members):
        found = [members[rep][0], *sorted(members[rep][1:], key=lambda m: (-m[1], m[0]))]
        if len(found) > 1:
            out.append((tuple(int(graph.ids[m]) for m, _ in found), tuple(s for _, s in found)))
    return out


@settings(max_examples=80, deadline=None)
@given(nodes=st.integers(2, 60), edges=st.integers(1, 200), seed=st.integers(0, 2**31 - 1), threshold=st.floats(-0.5, 0.95))
def test_star_groups_are_those_of_the_one_by_one_rule(nodes: int, edges: int, seed: int, threshold: float) -> None:
    """Representatives, members, their order and similarities match the rule taken a file at a
    time, with ties in similarity (scores rounded), negative scores and representatives
    left alone because each neighbour joined a closer one."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(10_000, nodes, replace=False))
    src, dst = rng.integers(0, nodes, edges), rng.integers(0, nodes, edges)
    keep = src != dst
    if not keep.any():
        return
    cosine = np.round(rng.uniform(0.3, 1, int(keep.sum())), 1).astype(np.float32)
    score = np.round(rng.uniform(-1, 1, int(keep.sum())), 1).astype(np.float32)
    graph = KnnGraph.from_edges(ids, src[keep], dst[keep], cosine, floor=0.3, structure=score)
    for by, at in (("cosine", max(threshold, 0.3)), ("structure", threshold)):
        found = [(g.members, g.similarities) for g in star_groups(graph, at, by=by)]  # type: ignore[arg-type]
        assert found == _one_by_one(graph, at, by)


def test_a_regroup_by_scene_follows_the_graph_it_is_asked_of() -> None:
    """The scene scores a first regroup works out are kept for the next threshold, never
    carried to another graph (an updated one, with other similarities)."""
    rng = np.random.default_rng(3)
    vectors = np.abs(rng.standard_normal((80, 8))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, 81)
    graph = exact_graph(vectors, ids, 0.3).with_scene(lambda wanted: vectors[np.searchsorted(ids, wanted)])
    fresh = lambda g: replace(g, basis=g.basis)  # noqa: E731  (the same graph, nothing worked out yet)
    for threshold in (0.2, 0.1, 0.3):
        assert star_groups(graph, threshold, by="scene") == star_groups(fresh(graph), threshold, by="scene")
    other = replace(graph, scene=graph.scene[::-1].copy())
    assert star_groups(other, 0.1, by="scene") == star_groups(fresh(other), 0.1, by="scene")
    assert star_groups(other, 0.1, by="scene") != star_groups(graph, 0.1, by="scene")


@settings(max_examples=40, deadline=None)
@given(nodes=st.integers(2, 60), edges=st.integers(1, 500), levels=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_each_list_is_best_first_then_by_neighbour(nodes: int, edges: int, levels: int, seed: int) -> None:
    """Adjacency lists come out sorted by similarity, best first, ties by neighbour: the order
    of np.lexsort over (node, -similarity, neighbour), with many tied similarities."""
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, nodes, edges), rng.integers(0, nodes, edges)
    keep = src != dst
    if not keep.any():
        return
    sim = rng.choice(np.array([0.3, 0.5, 0.5000001, 0.9, 1.0, 0.0][:levels], np.float32), int(keep.sum()))
    graph = KnnGraph.from_edges(np.arange(nodes) + 1, src[keep], dst[keep], sim, floor=0.0)
    u = graph.owners()
    order = np.lexsort((graph.nbr, -graph.sim, u))
    assert np.array_equal(order, np.arange(len(u)))  # already in that order
    pairs = {(int(a), int(b)) for a, b in zip(u, graph.nbr)}
    assert pairs == {(int(a), int(b)) for a, b in zip(src[keep], dst[keep])} | {(int(b), int(a)) for a, b in zip(src[keep], dst[keep])}
