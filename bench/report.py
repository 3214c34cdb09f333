"""Render docs/benchmarks.md from bench/results/*.json: the template lives here,
every number comes from a results file, so the page never disagrees with a run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from bench.machine import one_line
from bench.targets import Verdict, evaluate
from lookalike.core.config import DUPLICATE_THRESHOLD, SIMILAR_THRESHOLD
from lookalike.core.engines import projection
from lookalike.core.matching.graph import FLOOR, K

Results = dict[str, dict]


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _measured_on(section: dict) -> str:
    machine = section["machine"]
    parts = [
        f"Measured on {one_line(machine)}",
        f"load average {machine.get('load_average_at_start')} at the start, {section.get('load_average_end')} at the end",
    ]
    if machine.get("revision"):
        parts.append(f"code {machine['revision']}")
    parts.append(f"run {section['started_at']}, {section['seconds']:.0f} s")
    return "*" + "; ".join(parts) + ".*"


def _status(v: Verdict) -> str:
    return "not measured" if v.met is None else ("**met**" if v.met else "**missed**")


def _targets(verdicts: list[Verdict]) -> str:
    rows = [(v.name, v.goal, "—" if v.value is None else f"{v.value:g} {v.unit}".strip(), _status(v), v.margin, v.basis) for v in verdicts]
    out = [table(("Target", "Goal", "Figure", "Status", "Margin", "Basis"), rows)]
    missed = [v for v in verdicts if v.met is False and v.limit]
    if missed:
        out.append("\nWhat limits the missed targets:\n")
        out += [f"- **{v.name}**: {v.limit}" for v in missed]
    return "\n".join(out)


def _throughput(section: dict, results: Results) -> str:
    r = section["results"]
    sets = [("devset", r["devset"]), ("12-MP JPEGs", r["jpeg12mp"])]
    rows = [
        (name, s["files"], s["mean_file_mb"], s["scan_1w"]["img_per_s"], s["scan_2w"]["img_per_s"], s["phash"]["img_per_s"],
         f"{s['ratio_scan2_to_phash']}x", s["scan_2w"]["peak_rss_mb"], s["phash"]["peak_rss_mb"])
        for name, s in sets
    ]
    out = [
        "## 1. Throughput",
        _measured_on(section),
        "",
        "Cold scan: the app's `Scanner` on a fresh catalog (walk, decode pool, embed, batched writes), the app's "
        f"embedder settings ({r['jpeg12mp']['scan_2w']['provider']}, {r['jpeg12mp']['scan_2w']['embed_threads']} ONNX thread). "
        "Baseline: one process running `imagehash.phash(Image.open(path))` (full decode) over the same files, "
        "as dupeGuru/Czkawka-style tools do. Each run in a fresh process; img/s counts every file, broken ones included.",
        "",
        table(("Set", "Files", "MB/file", "Scan 1 worker img/s", "Scan 2 workers img/s", "pHash img/s", "Scan (2w) / pHash", "Scan peak RSS MB", "pHash peak RSS MB"), rows),
        "",
        f"The 12-MP set is {r['jpeg12mp']['files']} devset photos upscaled to 4000x3000 and saved at quality 92 "
        f"(generated once into `bench/.cache`; {r['jpeg12mp'].get('generation_s', 0)} s this run). Upscaled photos compress "
        "better than camera files (real 12-MP JPEGs are 3-6 MB), so their entropy decoding is somewhat cheaper.",
    ]
    limits = r["limits"]
    stage_rows = [(k.split("_")[0], k.split("_")[1], v["img_per_s"]) for k, v in limits["stages"].items()]
    out += [
        "",
        f"Each stage alone on {limits['files']} of the 12-MP files (`bench/embed.py`): decoding with the app's "
        "`images.decode` (JPEG draft) in a thread pool, embedding pre-decoded pixels in batches of 32.",
        "",
        table(("Stage", "Workers / threads", "img/s"), stage_rows),
        "",
        f"cProfile of a 2-worker scan of those files (main thread; decode threads appear as waits), wall {limits['profile']['wall_s']} s:",
        "",
        _profile_table(limits["profile"]),
    ]
    curve = r["jpeg12mp"]["scan_2w"].get("rss_by_files_done") or []
    settled = [(n, m) for n, m in curve if n >= curve[-1][0] / 4] if curve else []
    if len(settled) >= 3:
        files, mb = zip(*settled)
        slope = float(np.polyfit(files, mb, 1)[0]) * 1000
        out += [
            "",
            f"Memory of a cold scan: RSS {curve[0][1]} MB at the start, {settled[0][1]} MB after {settled[0][0]} files "
            f"(model arena and first batches), {settled[-1][1]} MB after {settled[-1][0]}: {slope:+.2f} MB per 1,000 "
            f"files once settled (least squares), so a 100k-photo cold scan would peak near "
            f"{settled[-1][1] + slope * (100_000 - settled[-1][0]) / 1000:.0f} MB (extrapolated). The unchanged 100k "
            "rescan below was measured.",
        ]
    out += ["", "### Unchanged rescan", "",
            "Libraries of tiny JPEGs (256 distinct files, the rest hard links; one folder per 1,000). The first scan is "
            "*simulated*: every file gets the row a scan writes, through `Catalog.store` (real path, size, mtime, inode, "
            "metadata, a random vector), then the vector index is built as a finished scan builds it — embedding 100k "
            "files would take longer than this whole benchmark. The rescan is "
            "the app's `Scanner.run`, which must reopen nothing (checked: 0 files decoded). Baseline: a bare `os.walk` + "
            "`stat` of the same files. Warm page cache.",
            ""]
    rows = [
        (int(n), v["simulated_first_scan_s"], v["rescan"]["seconds"], v["rescan"]["second_run_s"], v["bare_walk"]["seconds"],
         f"{v['overhead_vs_walk']}x", v["rescan"]["peak_rss_mb"], v["catalog_bytes_per_photo"])
        for n, v in r["rescan"].items()
    ]
    out.append(table(("Files", "Simulated first scan s", "Rescan s", "Again s", "Bare walk s", "Rescan / walk", "Rescan peak RSS MB", "Catalog B/photo"), rows))
    tiny = r["tiny_first_scan"]
    out += [
        "",
        f"A real first scan of {tiny['files']:,} tiny files ran at {tiny['img_per_s']} img/s (2 workers): about "
        f"{10_000 / tiny['img_per_s'] / 60:.0f} min for 10k and {100_000 / tiny['img_per_s'] / 60:.0f} min for 100k "
        "such files (estimated, not run).",
        "",
        f"cProfile of the {r['rescan_profile']['files']:,}-file rescan (wall {r['rescan_profile']['wall_s']} s):",
        "",
        _profile_table(r["rescan_profile"]),
    ]
    return "\n".join(out)


def _profile_table(profile: dict) -> str:
    rows = [(p["function"], p["calls"], p["own_s"], p["cumulative_s"], f"{100 * p['share_of_wall']:.0f}%") for p in profile["top_own_time"]]
    return table(("Function", "Calls", "Own s", "Cumulative s", "Own / wall"), rows)


def _scale(section: dict, results: Results) -> str:
    r = section["results"]
    sizes = {int(n): v for n, v in r["sizes"].items()}
    rows = [
        (n, v["vector_bytes_per_photo"], v["index_build_s"], v["search"]["p50_ms"], v["search"]["p99_ms"], v["exact_search"]["p50_ms"],
         v["exact_search"]["p99_ms"], v["recall_at_10"], v["index_bytes_per_photo"], v["index_rss_bytes_per_photo"])
        for n, v in sorted(sizes.items())
    ]
    out = [
        "## 2. Latency and scale",
        _measured_on(section),
        "",
        "Synthetic libraries of clustered unit vectors (dim 1280, ~8 photos a cluster, unrelated photos at cosine "
        "~0.2 ± 0.06 as on the devset; `bench/datasets.py`). Search: the app's `VectorIndex` (usearch HNSW, int8, "
        "2 threads), one query at a time, top 10, for held-out vectors. Baseline: exact brute force in numpy (f32). "
        f"From {projection.MIN_PHOTOS:,} photos the index holds compact vectors as the app does (`core/engines/projection.py`: "
        "a PCA fitted on a sample of the library, in the build time), and re-ranks its candidates by the full vectors "
        "(held in memory here, read from the catalog in the app), so recall is against exact full-vector search; "
        "a person's search scans their codes (`core/engines/codes.py`), and their HNSW graph is faiss's since stop 25 "
        "(`core/engines/links.py`; usearch's in rows measured before).",
        "",
        table(("Photos", "Index dims", "Index build s", "Search p50 ms", "Search p99 ms", "Exact p50 ms", "Exact p99 ms", "Recall@10", "Index B/photo (graph)", "Index B/photo (RSS)"), rows),
    ]
    graph_rows = [
        (n, v["graph"]["knn_search_s"], v["graph"]["structure_pairs"], v["graph"]["structure_s"], v["graph"]["seconds"],
         _regroup_cell(v["regroup"]["similar"]), v["regroup"]["duplicate"]["seconds"],
         max(v["regroup"]["similar"]["baseline_connected_components_s"], v["regroup"]["duplicate"]["baseline_connected_components_s"]),
         v["regroup"]["duplicate"]["groups"], v["peak_rss_mb"])
        for n, v in sorted(sizes.items()) if "graph" in v
    ]
    if graph_rows:
        out += [
            "",
            f"k-NN graph: `KnnGraph.build` (every file's {K} nearest, cosine >= {FLOOR}) then `with_structure` (structural "
            "score of every pair above the duplicate gate; signatures are synthetic 32x32 projections of the vectors, so "
            "aligned pairs are the close ones). Regroup: `star_groups` on the cached graph at the default similar "
            f"({SIMILAR_THRESHOLD}, by the measure in brackets: the scene score the app's Similar slider groups by, or "
            f"the cosine it grouped by before) and duplicate (structure {DUPLICATE_THRESHOLD}) thresholds, best of three; "
            "\"first\", where given, is the first regroup of the graph, which also scores what the others reuse (the "
            "scene scores past the gate). Baseline: scipy connected components over the same edges.",
            "",
            table(("Photos", "k-NN search s", "Pairs scored", "Structure s", "Graph total s", "Regroup similar s", "Regroup duplicate s", "Connected components s", "Duplicate groups", "Process peak RSS MB"), graph_rows),
        ]
    library = results.get("throughput", {}).get("results", {}).get("rescan", {})
    if library:
        n, v = max((int(k), v) for k, v in library.items())
        out += ["", f"Catalog on disk: {v['catalog_bytes_per_photo']:,} B/photo for the {n:,}-file library of section 1 "
                "(SQLite with its indexes; each row holds path and metadata, a 2,560 B f16 vector and a 1,024 B structure signature)."]
    runs = [(n, v["run"]) for n, v in sorted(sizes.items()) if "run" in v]
    if runs:
        out += ["", "Sizes measured on their own (`python -m bench scale --photos N`), beside the rows of the run above: "
                + "; ".join(f"{n:,} in {run['seconds']:,.0f} s, load average {run['load_average_start']} at the start and "
                            f"{run['load_average_end']} at the end, code {run['code']}" for n, run in runs)
                + ". Rows without a note here come from an earlier full run of this section (the header above "
                "describes the latest run written)."]
    for note in r.get("skipped", []):
        out += ["", f"*{note}*"]
    ext = r.get("extrapolated")
    if ext:
        figures = [
            ("Search p50", ext["search_p50_ms"], "ms"),
            ("Search p99", ext["search_p99_ms"], "ms"),
            ("Exact search p99 (baseline)", ext["exact_search_p99_ms"], "ms"),
            ("Index build", ext["index_build_s"], "s"),
        ]
        if "graph_s" in ext:
            figures += [("k-NN graph: search", ext["graph_knn_s"], "s"), ("k-NN graph: structure scoring", ext["graph_structure_s"], "s")]
        rows = [
            (name, f"{f['estimate']:g} {unit}", f"{f['by_law']:g} ({f['law']}, from {f['from']:,})",
             f"{f['by_fit']:g} (N^{f['exponent']}, {f['fit_between'][0]:,} to {f['fit_between'][1]:,})" if "by_fit" in f else "—")
            for name, f, unit in figures
        ]
        if "graph_s" in ext:
            rows.append(("k-NN graph: total", f"{ext['graph_s']:g} s", "sum of the two above", ""))
        largest = sizes[ext["from_count"]]
        rows.append(("Index RAM", f"{largest['index_rss_bytes_per_photo']} B/photo resident "
                     f"({largest['index_bytes_per_photo']} held by the HNSW graph)", f"flat in N, from {ext['from_count']:,}", ""))
        out += ["", f"### Extrapolated to {ext['target_count']:,} photos", "",
                f"Not measured: building a {ext['target_count']:,}-vector index alone would take "
                f"~{ext['index_build_s']['estimate'] / 60:.0f} min on these 2 cores. Each figure is estimated two ways, by the "
                "algorithm's scaling law and by the growth measured between the two largest sizes; the estimate is the larger.",
                "", table(("Figure", "Estimate at 1M", "By law", "By measured growth"), rows)]
    return "\n".join(out)


def _quality(section: dict, results: Results) -> str:
    r = section["results"]
    app, best = r["app"], r["phash"]["best"]
    rows = [
        (f"Lookalike (threshold {r['duplicate_threshold']})", app["precision"], app["recall"], app["f1"], f"{app['copies_found']}/{app['copies_total']}",
         app["distractor_groups"], len(app["similar_pairs_called_duplicates"])),
        (f"pHash, best F1 (Hamming <= {best['threshold']})", best["precision"], best["recall"], best["f1"], f"{best['copies_found']}/{best['copies_total']}",
         best["distractor_groups"], len(best["similar_pairs_called_duplicates"])),
    ]
    kinds = [
        (kind, v["total"], v["found"], best["per_kind"][kind]["found"], ", ".join(v["missed"]) or "—")
        for kind, v in app["per_kind"].items()
    ]
    out = [
        "## 3. Quality on the devset",
        _measured_on(section),
        "",
        f"A real scan of a copy of the devset ({r['files']} files, {r['scan_s']} s), then the app's `review.find_groups` "
        "(identical groups + duplicate groups, merged: hidden identical copies go with their keeper) at the shipped "
        "defaults. Pairs are scored against truth.json: an original and its copies, and each identical pair, are "
        "duplicates; distractors and the two sides of a similar-scene pair are not. Baseline in the same run: 64-bit "
        "pHash of every file (full decode, no EXIF rotation), pairs within a Hamming distance linked, best F1 over 0-24.",
        "",
        table(("Method", "Pair precision", "Pair recall", "Pair F1", "Copies found", "Groups with a distractor", "Scene pairs called duplicates"), rows),
        "",
        table(("Variant kind", "Copies", "Lookalike found", "pHash found (best)", "Lookalike missed"), kinds),
    ]
    for d in app.get("missed_detail", []):
        out.append(f"\n- `{d['copy']}`: {d['why']} — cosine {d.get('cosine')}, structural score {d.get('structure')}, neighbour rank {d.get('neighbour_rank')}.")
    sweep = [(row["threshold"], row["precision"], row["recall"], row["f1"], row["copies_found"], row["distractor_groups"], row["similar_called_duplicates"])
             for row in r["sweep"]]
    out += [
        "",
        "### Threshold sweep",
        "",
        f"The duplicate threshold (structural score; the cosine gate stays at its default) from 0.80 to 0.99; the default "
        f"is {r['duplicate_threshold']}.",
        "",
        f"![threshold sweep]({r.get('plot', 'threshold_sweep.png')})",
        "",
        table(("Threshold", "Precision", "Recall", "F1", "Copies found", "Distractor groups", "Scene pairs merged"), sweep),
        "",
        f"Similar tier at its default (cosine {r['similar_tier']['threshold']}): {r['similar_tier']['found']} of "
        f"{r['similar_tier']['total']} similar-scene pairs grouped. Broken files reported with a reason: "
        f"{r['broken_reported']['found']} of {r['broken_reported']['total']}.",
    ]
    return "\n".join(out)


def _gpu(section: dict, results: Results) -> str:
    r = section["results"]
    out = ["## 4. GPU mode", _measured_on(section), "",
           "`python -m bench gpu`: embedding img/s with the CUDA provider (fp32 and an fp16 model), the ratio to the CPU, "
           "and whether `Embedder(manifest, 'auto')` picks CUDA by itself.", ""]
    if r["status"] != "measured":
        out.append(f"**{r['status']}.** onnxruntime providers available: {', '.join(r['providers_available'])}; "
                   f"'auto' picked {r['auto_provider']} (the CPU fallback works).")
        return "\n".join(out)
    rows = [("CPU (app default threads)", r["cpu_img_per_s"], "1x"), ("CUDA fp32", r["cuda_fp32_img_per_s"], f"{r['ratio_fp32_to_cpu']}x")]
    if "cuda_fp16_img_per_s" in r:
        rows.append(("CUDA fp16", r["cuda_fp16_img_per_s"], f"{r['ratio_fp16_to_cpu']}x"))
    out += [table(("Embedder", "img/s", "vs CPU"), rows), "",
            f"'auto' picks CUDA: {r['auto_picks_cuda']}. fp16 model: {r.get('fp16_source')}; lowest cosine between its "
            f"vectors and fp32 ones: {r.get('fp16_min_cosine_to_fp32')}."]
    if "scan_12mp_2w" in r:
        out.append(f"\nEnd to end, a 2-worker cold scan of the 12-MP set with the GPU: {r['scan_12mp_2w']['img_per_s']} img/s.")
    return "\n".join(out)


def _tier_row(name: str, scores: dict) -> tuple[object, ...]:
    return (name, scores["not_duplicates_in_duplicate_tier"], f"{scores['duplicates_found']}/{scores['duplicates_total']}",
            "; ".join(f"{k.split(': ', 1)[1]} {v}" for k, v in scores["pairs"].items()))


def _realset(section: dict, results: Results) -> str:
    r = section["results"]
    out = ["## 3b. Quality on real photographs (realset)", _measured_on(section), ""]
    if "skipped" in r:
        return "\n".join(out + [f"**Not measured**: {r['skipped']}."])
    app = r["app"]
    rows = [_tier_row("Lookalike: duplicate tier (proven)", app["duplicate"]),
            _tier_row("Previous release: structure >= 0.90, no proof", r["previous_rule"])]
    rows += [_tier_row(f"pHash, Hamming <= {p['hamming_limit']}", p) for p in r["phash"]]
    tiers = [(kind, app[kind]["member_precision"], app[kind]["scene_pair_recall"],
              "; ".join(f"{k.split(': ', 1)[1]} {v}" for k, v in app[kind]["pairs"].items())) for kind in ("burst", "similar")]
    out += [
        f"A real scan of `../shared/data/realset` ({r['files']} photos: true duplicates, near-identical shots, same-scene "
        f"shots, far views and look-alike negatives; {r['scan_s']} s), then the CLI's `duplicates`, `bursts`, `similar` "
        f"and `search` JSON scored pair by pair against its truth.json ({r['review_s']} s for all four). Beside it, in "
        "the same run: the previous release's duplicate rule on the same graph, and pHash pairs (full decode) at the "
        "usual Hamming limits. Catalog size: "
        f"{r['catalog_bytes_per_photo']:,} bytes a photo.",
        "",
        table(("Duplicate rule", "Wrong pairs (not the same picture)", "True pairs found", "Pairs by what they truly are"), rows),
        "",
        table(("Tier", "Member precision", "Same-scene pair recall", "Pairs by what they truly are"), tiers),
        "",
        f"Search by image, every labelled photo as the query (itself excluded): mean average precision **{app['search_map']}**.",
    ]
    return "\n".join(out)


RENDERERS = {"throughput": _throughput, "scale": _scale, "quality": _quality, "realset": _realset, "gpu": _gpu}


def render(results: Results) -> str:
    verdicts = evaluate(results)
    machines = sorted({one_line(s["machine"]) for s in results.values()})
    parts = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m bench` from bench/results/*.json; edit bench/report.py, not this file. -->",
        "",
        "Every figure below was measured by `python -m bench` (`make bench`) on: " + "; ".join(machines) + ". "
        "Each section states its own machine, load and run time; figures in a table were measured side by side in the "
        "same run as their baseline. The machine was shared with other work, so absolute timings are noisy.",
        "",
        "## Targets",
        "",
        _targets(verdicts),
    ]
    for name, render_section in RENDERERS.items():
        if name in results:
            parts += ["", render_section(results[name], results)]
    return "\n".join(parts) + "\n"


def _regroup_cell(row: dict) -> str:
    """A regroup's seconds, with its measure and, where measured, the graph's first regroup."""
    first = f"; first {row['first_seconds']}" if "first_seconds" in row else ""
    return f"{row['seconds']} ({row['by']}{first})"
