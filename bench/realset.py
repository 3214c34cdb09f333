"""Quality on real photographs (`../shared/data/realset`): the CLI's own JSON scored pair by
pair against the labels, beside a pHash baseline and the previous release's duplicate rule.

The realset holds true duplicates, near-identical shots (burst frames, brackets,
video frames), several shots of one scene, far views and look-alike negatives
(sunsets, receipts, terminal screenshots...). Its README defines the kinds; the
scoring here follows its score.py: per tier, how many grouped pairs are of each
truth kind; the recall of true duplicate pairs; member precision (members in the
same truth group as their group's first file) and same-scene pair recall; and
the mean average precision of search with every labelled photo as a query.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import datasets

REALSET = Path(os.environ.get("LOOKALIKE_REALSET", datasets.REPO.parent / "shared" / "data" / "realset"))
DIFFERENT = "different pictures"
#: Truth kinds a similar group should hold together (far views are a bonus).
SCENE_KINDS = ("duplicate", "near_identical_shots", "same_scene_shots")


@dataclass(frozen=True)
class Labels:
    group_of: dict[str, int]  # file name -> truth group number
    kinds: tuple[str, ...]  # truth group number -> kind
    groups: tuple[tuple[str, ...], ...]

    @classmethod
    def load(cls, root: Path = REALSET) -> Labels:
        truth = json.loads((root / "truth.json").read_text(encoding="utf-8"))
        groups = tuple(tuple(g["files"]) for g in truth["groups"])
        group_of = {name: number for number, files in enumerate(groups) for name in files}
        return cls(group_of, tuple(g["kind"] for g in truth["groups"]), groups)

    def pair(self, a: str, b: str) -> str:
        """What two files truly are to each other."""
        ga, gb = self.group_of.get(a), self.group_of.get(b)
        return self.kinds[ga] if ga is not None and ga == gb else DIFFERENT

    def pairs_of(self, kinds: Iterable[str]) -> set[tuple[str, str]]:
        wanted = set(kinds)
        return {
            p for files, kind in zip(self.groups, self.kinds) if kind in wanted
            for p in itertools.combinations(sorted(files), 2)
        }


def available() -> bool:
    return (REALSET / "truth.json").is_file()


def _names(group: dict) -> list[str]:
    return [os.path.basename(f["path"]) for f in group["files"]]


def score_groups(listing: dict, labels: Labels) -> dict[str, object]:
    """Scores of a `duplicates`/`bursts`/`similar --json` listing (score.py's figures)."""
    pairs: Counter[tuple[str, str]] = Counter()
    copies_found: set[tuple[str, str]] = set()
    grouped: set[tuple[str, str]] = set()
    members = same = 0
    for group in listing.get("groups", []):
        names = _names(group)
        for a, b in itertools.combinations(sorted(names), 2):
            truth = labels.pair(a, b)
            pairs[(group["kind"], truth)] += 1
            grouped.add((a, b))
            if truth == "duplicate" and group["kind"] in ("identical", "duplicate"):
                copies_found.add((a, b))
        first = labels.group_of.get(names[0])
        members += len(names) - 1
        same += sum(first is not None and labels.group_of.get(n) == first for n in names[1:])
    scene = labels.pairs_of(SCENE_KINDS)
    return {
        "pairs": {f"{tier}: {truth}": n for (tier, truth), n in sorted(pairs.items())},
        "duplicates_found": len(copies_found),
        "duplicates_total": len(labels.pairs_of(["duplicate"])),
        "not_duplicates_in_duplicate_tier": sum(
            n for (tier, truth), n in pairs.items() if tier in ("identical", "duplicate") and truth != "duplicate"
        ),
        "member_precision": round(same / members, 4) if members else None,
        "scene_pair_recall": round(len(scene & grouped) / len(scene), 4),
    }


def search_map(results: dict, labels: Labels) -> float:
    """Mean average precision of `search --json` results, each query excluded from its ranking."""
    precisions = []
    for result in results["results"]:
        query = os.path.basename(result["query"])
        if query not in labels.group_of:
            continue
        relevant = set(labels.groups[labels.group_of[query]]) - {query}
        hits, total, rank = 0, 0.0, 0
        for match in result["matches"]:
            name = os.path.basename(match["path"])
            if name == query:
                continue
            rank += 1
            if name in relevant:
                hits += 1
                total += hits / rank
        precisions.append(total / len(relevant))
    return round(float(np.mean(precisions)), 4)


def cli_json(catalog: Path, *args: str) -> dict:
    """What `lookalike --catalog CATALOG ARGS... --json` prints, parsed (a real process, as a user runs it)."""
    command = [sys.executable, "-m", "lookalike", "--catalog", str(catalog), *args, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"lookalike {args[0]} exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def queries(labels: Labels, root: Path = REALSET) -> list[str]:
    """Every labelled photo, as a search query."""
    return [str(root / "images" / name) for name in sorted(labels.group_of)]


def evaluate(catalog: Path, labels: Labels, top: int) -> dict[str, object]:
    """The app's figures on a scanned realset catalog, through the CLI."""
    tiers = {kind: score_groups(cli_json(catalog, verb), labels) for kind, verb in
             (("duplicate", "duplicates"), ("burst", "bursts"), ("similar", "similar"))}
    found = cli_json(catalog, "search", *queries(labels), "--top", str(top))
    return {**tiers, "search_map": search_map(found, labels)}


def _previous_rule(catalog_path: Path, model_id: str, labels: Labels, names: dict[int, str]) -> dict[str, object]:
    """The previous release's duplicate tier: structural score >= 0.90 above the cosine gate, no proof."""
    from lookalike.core.catalog.store import Catalog
    from lookalike.core.matching.graph import open_graph
    from lookalike.core.matching.grouping import star_groups

    with Catalog(catalog_path) as catalog:
        groups = star_groups(open_graph(catalog, model_id), 0.90, by="structure")
    listing = {"groups": [{"kind": "duplicate", "files": [{"path": names[i]} for i in g.members]} for g in groups]}
    return score_groups(listing, labels)


#: Hamming distances (of 64 bits) tried for pHash: imagededup's default is 10.
PHASH_LIMITS = (4, 6, 8, 10, 12)


def _phash(labels: Labels, files: Sequence[Path]) -> list[dict[str, object]]:
    """pHash (full decode, as the classic tools do): pairs within each Hamming distance."""
    import imagehash
    from PIL import Image

    bits = []
    for path in files:
        with Image.open(path) as image:
            bits.append(imagehash.phash(image).hash.ravel())
    matrix = np.array(bits, dtype=np.int32)
    distance = matrix.shape[1] - (matrix @ matrix.T + (1 - matrix) @ (1 - matrix).T)
    rows = []
    for limit in PHASH_LIMITS:
        a, b = np.nonzero(np.triu(distance <= limit, 1))
        listing = {"groups": [{"kind": "duplicate", "files": [{"path": str(files[i])}, {"path": str(files[j])}]}
                              for i, j in zip(a, b)]}
        rows.append({"hamming_limit": limit, **score_groups(listing, labels)})
    return rows


def run() -> dict[str, object]:
    if not available():
        return {"skipped": f"realset not found at {REALSET}"}
    from bench import app

    labels = Labels.load()
    images = sorted((REALSET / "images").iterdir())
    with tempfile.TemporaryDirectory(prefix="lookalike-realset-") as tmp:
        catalog = Path(tmp) / "catalog.sqlite"
        model = app.embedder()
        start = time.perf_counter()
        app.scan(REALSET / "images", catalog, 2, model)
        scan_s = time.perf_counter() - start
        start = time.perf_counter()
        figures = evaluate(catalog, labels, len(images))
        review_s = time.perf_counter() - start
        names = {int(f.id): f.path for f in _files(catalog)}
        previous = _previous_rule(catalog, model.model_id, labels, names)
        catalog_bytes = catalog.stat().st_size
    return {
        "files": len(images),
        "scan_s": round(scan_s, 2),
        "review_s": round(review_s, 2),
        "catalog_bytes_per_photo": round(catalog_bytes / len(images)),
        "app": figures,
        "previous_rule": previous,
        "phash": _phash(labels, images),
    }


def _files(catalog_path: Path) -> list:
    from lookalike.core.catalog.store import Catalog

    with Catalog(catalog_path) as catalog:
        return list(catalog.iter_files(("ok",)))
