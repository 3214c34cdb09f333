"""search_images and `lookalike search`: queries need not be catalogued; bad queries fail clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lookalike.cli import main
from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.images import ImageError
from lookalike.core.scan.pipeline import Scanner
from lookalike.core.explore.search import search_images


@pytest.fixture
def originals(samples: Path, tmp_path: Path, embedder: Embedder) -> Catalog:
    """A catalog of the sample originals only: the copies stay outside as queries."""
    library = tmp_path / "library"
    library.mkdir()
    for photo in samples.glob("*.jpg"):
        shutil.copy2(photo, library / photo.name)
    with Catalog(tmp_path / "cat" / "catalog.sqlite") as catalog:
        Scanner(catalog, embedder, workers=1).run([library])
        yield catalog


@pytest.mark.parametrize(
    "query,original",
    [
        ("copies/chelsea_small.jpg", "chelsea.jpg"),
        ("copies/coffee_cropped.jpg", "coffee.jpg"),
        ("copies/rocket_gray.png", "rocket.jpg"),
        ("copies/rocket_rotated.jpg", "rocket.jpg"),
    ],
)
def test_copies_find_their_original_first(
    originals: Catalog, samples: Path, embedder: Embedder, query: str, original: str
) -> None:
    (result,) = search_images(originals, embedder, [samples / query], top_k=3)
    assert result.query == str((samples / query).resolve())
    assert [Path(f.path).name for f, _ in result.matches][0] == original
    similarities = [s for _, s in result.matches]
    assert len(similarities) == 3 and similarities == sorted(similarities, reverse=True)


def test_several_queries_and_top_k(originals: Catalog, samples: Path, embedder: Embedder) -> None:
    results = search_images(originals, embedder, [samples / "coffee.jpg", samples / "rocket.jpg"], top_k=50)
    assert [Path(r.query).name for r in results] == ["coffee.jpg", "rocket.jpg"]
    for result in results:
        assert len(result.matches) == 5  # every catalogued photo, no padding
        assert Path(result.matches[0][0].path).name == Path(result.query).name
        assert result.matches[0][1] == pytest.approx(1.0, abs=1e-3)


def test_a_bad_query_is_reported_and_the_others_answered(
    originals: Catalog, samples: Path, tmp_path: Path, embedder: Embedder
) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    results = search_images(originals, embedder, [bad, samples / "coffee.jpg", tmp_path / "nowhere.jpg"], top_k=99_999_999_999)
    assert results[0].error == str(ImageError(str(bad), "not an image, or a format Lookalike cannot read"))
    assert results[0].matches == [] and "not found" in str(results[2].error)
    assert results[1].error is None and len(results[1].matches) == 5  # --top bounded by the catalog's photos
    assert Path(results[1].matches[0][0].path).name == "coffee.jpg"


def test_search_cli(originals: Catalog, samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = samples / "copies" / "coffee_cropped.jpg"
    capsys.readouterr()
    assert main(["--catalog", str(originals.path), "search", str(query), "--top", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["query"] for r in data["results"]] == [str(query.resolve())]
    matches = data["results"][0]["matches"]
    assert len(matches) == 2 and all(set(m) == {"path", "similarity"} for m in matches)
    assert Path(matches[0]["path"]).name == "coffee.jpg" and Path(matches[0]["path"]).is_absolute()

    assert main(["--catalog", str(originals.path), "search", str(query)]) == 0
    assert "coffee.jpg" in capsys.readouterr().out

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert main(["--catalog", str(originals.path), "search", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and str(bad) in err
    assert main(["--catalog", str(originals.path), "search", str(query), "--top", "0"]) == 2


@pytest.mark.devset
def test_devset_copies_find_their_original_first(
    devset: Path, truth: dict, tmp_path: Path, embedder: Embedder
) -> None:
    """Originals, distractors and scene pairs catalogued; every copy searched from outside."""
    library = tmp_path / "library"
    library.mkdir()
    catalogued = [g[0] for g in truth["groups"]] + truth["distractors"] + [n for p in truth["similar"] for n in p]
    for name in catalogued:
        shutil.copy2(devset / name, library / Path(name).name)
    kinds = truth["variant_kind"]
    queries = [(devset / c, g[0]) for g in truth["groups"] for c in g[1:] if kinds[c] != "rot90_pixels"]
    with Catalog(tmp_path / "cat" / "catalog.sqlite") as catalog:
        Scanner(catalog, embedder, workers=2).run([library])
        results = search_images(catalog, embedder, [q for q, _ in queries], top_k=1)
    assert [Path(r.matches[0][0].path).name for r in results] == [Path(o).name for _, o in queries]
