"""Quality on the labelled devset: the app's own grouping (a real scan, then
`review.find_groups`) beside a pHash baseline, both scored by `bench.truth`.

Duplicates as a person sees them are the identical groups plus the duplicate
groups (in which only the keeper of each identical group takes part), merged:
the hidden identical copies go wherever their keeper goes.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from bench import app, datasets
from bench.truth import Truth, components, score
from lookalike.core.catalog.store import Catalog
from lookalike.core.matching import structure
from lookalike.core.config import Settings
from lookalike.core.matching.graph import DUPLICATE_GATE, K
from lookalike.core.review.tiers import find_groups

#: Structural thresholds swept (the default, DUPLICATE_THRESHOLD, is among them).
SWEEP = [round(float(t), 2) for t in np.arange(0.80, 0.991, 0.01)]
#: Hamming distances (of 64 bits) swept for the pHash baseline.
PHASH_SWEEP = list(range(0, 25))


def _names(catalog: Catalog, root: Path) -> dict[int, str]:
    """File id -> name relative to the devset copy (the names truth.json uses)."""
    return {f.id: os.path.relpath(f.path, root) for f in catalog.iter_files(("ok", "error"))}


def _app_groups(catalog: Catalog, model_id: str, names: dict[int, str], threshold: float, settings: Settings) -> list[set[str]]:
    groups = find_groups(catalog, model_id, "identical", settings=settings)
    groups += find_groups(catalog, model_id, "duplicate", threshold, settings=settings)
    return components([names[m.file.id] for m in g.members] for g in groups)


def _similar_found(catalog: Catalog, model_id: str, names: dict[int, str], truth: Truth, settings: Settings) -> dict[str, int]:
    """Scene pairs the similar tier groups at its default threshold (they should be)."""
    groups = [{names[m.file.id] for m in g.members} for g in find_groups(catalog, model_id, "similar", settings=settings)]
    found = sum(any(a in g and b in g for g in groups) for a, b in truth.similar)
    return {"found": found, "total": len(truth.similar), "threshold": settings.similar_threshold}


def _why_missed(catalog: Catalog, model_id: str, names: dict[int, str], missed: list[str], truth: Truth) -> list[dict[str, object]]:
    """For each copy not grouped with its original: the pair's cosine, structural
    score and neighbour rank, i.e. which stage of the two-stage check lost it."""
    if not missed:
        return []
    ids, vectors = catalog.vectors(model_id)
    row = {names[int(i)]: r for r, i in enumerate(ids)}
    out = []
    for name in missed:
        original = truth.original[name]
        if name not in row or original not in row:
            out.append({"copy": name, "why": "not embedded (decode failed)"})
            continue
        a, b = vectors[row[name]], vectors[row[original]]
        cosine = float(a @ b)
        rank = int(min((vectors @ a > cosine).sum(), (vectors @ b > cosine).sum()))  # self included
        sigs = catalog.signatures([int(ids[row[name]]), int(ids[row[original]])])
        pair = structure.unpack(list(sigs.values())) if len(sigs) == 2 else None
        struct = float(structure.pair_scores(pair[:1], pair[1:])[0]) if pair is not None else None
        if rank > K:
            why = f"original not among the {K} nearest by cosine (rank {rank})"
        elif cosine < DUPLICATE_GATE:
            why = f"cosine below the gate {DUPLICATE_GATE}"
        else:
            why = "structural score below the threshold"
        out.append({"copy": name, "kind": truth.kind[name], "cosine": round(cosine, 3), "structure": None if struct is None else round(struct, 3), "neighbour_rank": rank, "why": why})
    return out


def _phash(root: Path, truth: Truth) -> dict[str, object]:
    """pHash of every usable devset file (full decode, no EXIF rotation, as the
    classic tools do), grouped by linking pairs within a Hamming distance."""
    names = sorted(truth.cluster)
    start = time.perf_counter()
    hashes = []
    for name in names:
        with Image.open(root / name) as image:
            hashes.append(int(str(imagehash.phash(image)), 16))
    seconds = time.perf_counter() - start
    bits = np.array([[(h >> i) & 1 for i in range(64)] for h in hashes], dtype=np.int32)
    distance = bits.shape[1] - (bits @ bits.T + (1 - bits) @ (1 - bits).T)
    sweep = []
    for limit in PHASH_SWEEP:
        rows, cols = np.nonzero(np.triu(distance <= limit, 1))
        groups = components([names[r], names[c]] for r, c in zip(rows, cols))
        sweep.append({"threshold": limit, **score(groups, truth)})
    best = max(sweep, key=lambda row: (row["f1"], -row["threshold"]))
    return {"seconds": round(seconds, 2), "best": best, "sweep": [_brief(r) for r in sweep]}


def _brief(row: dict[str, object]) -> dict[str, object]:
    """A sweep row without the per-file detail."""
    keep = ("threshold", "precision", "recall", "f1", "copies_found", "copies_total", "distractor_groups", "false_pairs")
    out = {k: row[k] for k in keep}
    out["similar_called_duplicates"] = len(row["similar_pairs_called_duplicates"])  # type: ignore[arg-type]
    return out


def run(plot_path: Path | None) -> dict[str, object]:
    truth = Truth.load()
    settings = Settings()  # the shipped defaults, never the user's settings file
    with tempfile.TemporaryDirectory(prefix="lookalike-quality-") as tmp:
        root = datasets.copy_devset(Path(tmp) / "devset")
        catalog_path = Path(tmp) / "catalog.sqlite"
        model = app.embedder()
        start = time.perf_counter()
        report = app.scan(root, catalog_path, 2, model)
        scan_s = time.perf_counter() - start
        with Catalog(catalog_path) as catalog:
            names = _names(catalog, root)
            errors = {os.path.relpath(p, root): reason for p, reason in catalog.errors()}
            start = time.perf_counter()
            at_default = score(_app_groups(catalog, model.model_id, names, settings.duplicate_threshold, settings), truth)
            group_s = time.perf_counter() - start
            sweep = [
                _brief({"threshold": t, **score(_app_groups(catalog, model.model_id, names, t, settings), truth)})
                for t in SWEEP
            ]
            similar = _similar_found(catalog, model.model_id, names, truth, settings)
            missed = [n for k in at_default["per_kind"].values() for n in k["missed"]]  # type: ignore[union-attr]
            at_default["missed_detail"] = _why_missed(catalog, model.model_id, names, missed, truth)
        baseline = _phash(root, truth)
    result = {
        "files": len(names),
        "scan_s": round(scan_s, 2),
        "first_grouping_s": round(group_s, 2),
        "duplicate_threshold": settings.duplicate_threshold,
        "app": at_default,
        "sweep": sweep,
        "similar_tier": similar,
        "broken_reported": {"found": len(truth.broken & errors.keys()), "total": len(truth.broken), "reasons": {n: errors.get(n) for n in sorted(truth.broken)}},
        "scan_errors": report.errors,
        "phash": baseline,
    }
    if plot_path is not None:
        plot(result, plot_path)
        result["plot"] = plot_path.name
    return result


def plot(result: dict, path: Path) -> None:
    """The threshold sweep of the app and of the pHash baseline, defaults marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for axis, rows, default, title, xlabel in (
        (left, result["sweep"], result["duplicate_threshold"], "Lookalike (structure score, proof, cosine gate)", "duplicate threshold"),
        (right, result["phash"]["sweep"], result["phash"]["best"]["threshold"], "pHash baseline (64-bit)", "Hamming distance <="),
    ):
        x = [r["threshold"] for r in rows]
        for key, style in (("precision", "--"), ("recall", ":"), ("f1", "-")):
            axis.plot(x, [r[key] for r in rows], style, label=key)
        axis.axvline(default, color="grey", linewidth=1)
        axis.annotate("default" if axis is left else "best F1", (default, 0.02), rotation=90, color="grey")
        axis.set(title=title, xlabel=xlabel, ylim=(0, 1.02))
        axis.grid(alpha=0.3)
        axis.legend(loc="lower left" if axis is left else "lower right")
    fig.suptitle("Devset pair precision / recall / F1 by threshold")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
