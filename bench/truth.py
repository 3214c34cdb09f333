"""The devset's labels as clusters of duplicates, and the scores of any grouping
against them, so the app and the pHash baseline are judged by the same code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from bench import datasets

IDENTICAL = "identical"  # the kind given to byte-identical copies (dNNN / copies/copy_of_dNNN)


@dataclass(frozen=True)
class Truth:
    """Which devset files are the same picture.

    `cluster` maps each usable file to its cluster number: an original and its
    copies (or an identical pair) share one; every other file (distractors,
    either side of a similar-scene pair) is alone in its own.
    """

    cluster: dict[str, int]
    kind: dict[str, str]  # copy name -> variant kind
    original: dict[str, str]  # copy name -> its original's name
    distractors: frozenset[str]
    similar: tuple[tuple[str, str], ...]
    broken: frozenset[str]

    @classmethod
    def load(cls) -> Truth:
        labels = datasets.truth()
        cluster: dict[str, int] = {}
        kind: dict[str, str] = {}
        original: dict[str, str] = {}
        for number, group in enumerate(labels["groups"] + labels["identical"]):
            for name in group:
                cluster[name] = number
            for name in group[1:]:
                kind[name] = labels["variant_kind"].get(name, IDENTICAL)
                original[name] = group[0]
        alone = labels["distractors"] + [name for pair in labels["similar"] for name in pair]
        for name in alone:
            cluster[name] = len(cluster) + 10_000
        return cls(
            cluster=cluster,
            kind=kind,
            original=original,
            distractors=frozenset(labels["distractors"]),
            similar=tuple(tuple(pair) for pair in labels["similar"]),  # type: ignore[misc]
            broken=frozenset(labels["broken"]),
        )

    def true_pairs(self) -> set[frozenset[str]]:
        by_cluster: dict[int, list[str]] = {}
        for name, number in self.cluster.items():
            by_cluster.setdefault(number, []).append(name)
        return {frozenset(p) for names in by_cluster.values() for p in combinations(names, 2)}

    def kinds(self) -> list[str]:
        return sorted(set(self.kind.values()))


def components(groups: Iterable[Iterable[str]]) -> list[set[str]]:
    """Merge overlapping groups (union-find): what a person ends up treating as one."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for group in groups:
        names = list(group)
        for name in names[1:]:
            parent[find(name)] = find(names[0])
        if names:
            find(names[0])
    merged: dict[str, set[str]] = {}
    for name in parent:
        merged.setdefault(find(name), set()).add(name)
    return [c for c in merged.values() if len(c) > 1]


def score(groups: list[set[str]], truth: Truth) -> dict[str, object]:
    """Pair precision/recall/F1, recall per variant kind, and the false groupings."""
    where = {name: i for i, group in enumerate(groups) for name in group}
    predicted = {frozenset(p) for group in groups for p in combinations(sorted(group), 2)}
    predicted = {p for p in predicted if all(n in truth.cluster for n in p)}
    actual = truth.true_pairs()
    hits = len(predicted & actual)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(actual) if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_kind: dict[str, dict[str, object]] = {}
    for kind in truth.kinds():
        copies = sorted(n for n, k in truth.kind.items() if k == kind)
        missed = [n for n in copies if where.get(n) is None or where.get(n) != where.get(truth.original[n])]
        per_kind[kind] = {"found": len(copies) - len(missed), "total": len(copies), "missed": missed}
    distractor_groups = [sorted(g) for g in groups if g & truth.distractors]
    similar_merged = [list(p) for p in truth.similar if where.get(p[0]) is not None and where.get(p[0]) == where.get(p[1])]
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "true_pairs": len(actual),
        "predicted_pairs": len(predicted),
        "false_pairs": len(predicted - actual),
        "groups": len(groups),
        "per_kind": per_kind,
        "copies_found": sum(k["found"] for k in per_kind.values()),  # type: ignore[misc]
        "copies_total": sum(k["total"] for k in per_kind.values()),  # type: ignore[misc]
        "distractor_groups": len(distractor_groups),
        "distractor_groups_detail": distractor_groups,
        "similar_pairs_called_duplicates": similar_merged,
    }
