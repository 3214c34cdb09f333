"""Catalog queries used by the scan, the CLI and the index, on a real SQLite file."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from sqlalchemy import func, select, text

from lookalike.core.matching.graph import SIGNATURE_COUNT
from lookalike.core.catalog.store import PAGE_SIZE, Catalog, CatalogError, FileRecord, Location, Shot
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.pipeline import Scanner
from lookalike.core.catalog.schema import SCHEMA_VERSION, Decision, Embedding, File, Meta, Signature

MODEL = "test-model:0123456789ab"


@pytest.fixture
def catalog(catalog_location: Path | str):
    with Catalog(catalog_location) as opened:
        yield opened


def _unit(seed: int, dim: int = 8) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _record(path: str, root_id: int, size: int = 100, fid: int | None = None, **fields) -> FileRecord:
    location = Location(path, size, 1_000 + size, None, None, root_id)
    if "error" not in fields:
        fields.setdefault("vector", _unit(size))
        fields.setdefault("width", 4)
        fields.setdefault("height", 3)
        fields.setdefault("signature", bytes(1024))  # a scan stores the signature and shot measures with the vector
        fields.setdefault("shot", Shot(sharpness=0.5, highlights=0.0, shadows=0.0, brightness=128.0))
    return FileRecord(location, fid, **fields)


def test_store_inserts_then_overwrites_and_vectors_round_trip(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    assert catalog.add_root("/p") == root
    records = [_record("/p/a.jpg", root, 10), _record("/p/b.jpg", root, 20), _record("/p/c.jpg", root, 30, error="broken")]
    ids = catalog.store(records, MODEL)
    assert len(set(ids)) == 3

    got_ids, vectors = catalog.vectors(MODEL)
    assert list(got_ids) == ids[:2]
    assert np.allclose(vectors, [_unit(10), _unit(20)], atol=5e-3)  # stored as int8 (core/catalog/blobs.py)
    assert catalog.errors() == [("/p/c.jpg", "broken")]
    assert catalog.status_counts() == {"ok": 2, "error": 1, "missing": 0}

    catalog.store([_record("/p/c.jpg", root, 31, fid=ids[2])], MODEL)  # the broken file was fixed
    assert catalog.status_counts() == {"ok": 3, "error": 0, "missing": 0}
    assert catalog.embedded_count(MODEL) == 3


def test_sizes_by_id_or_all_and_writes_counted(catalog: Catalog) -> None:
    """Sizes come back by ascending id, of the asked files that are catalogued, or of all;
    every write through the catalog is counted (what review keeps derived results by), a read is not."""
    root = catalog.add_root("/p")
    before = catalog.changes
    ids = catalog.store([_record(f"/p/{n}.jpg", root, size) for n, size in ((3, 30), (1, 10), (2, 20))], MODEL)
    assert catalog.changes > before
    written = catalog.changes
    every = sorted(zip(ids, (30, 10, 20)))
    assert [a.tolist() for a in catalog.sizes()] == [[i for i, _ in every], [s for _, s in every]]
    asked = [ids[2], 9_999, ids[0]]
    got_ids, got_sizes = catalog.sizes(asked)
    assert got_ids.tolist() == sorted([ids[2], ids[0]]) and dict(zip(got_ids.tolist(), got_sizes.tolist())) == {ids[0]: 30, ids[2]: 20}
    assert catalog.file_rows() == 3 and catalog.changes == written
    catalog.mark_missing([ids[1]])
    assert catalog.changes > written


def test_known_files_covers_exactly_one_folder(catalog: Catalog) -> None:
    root = catalog.add_root("/photos")
    catalog.store([_record(p, root) for p in ("/photos/a.jpg", "/photos/x/b.jpg", "/photos2/c.jpg", "/photo.jpg")], MODEL)
    catalog.store([_record("/photos/broken.jpg", root, error="bad")], MODEL)

    known = catalog.known_files("/photos", MODEL)

    assert sorted(known) == ["/photos/a.jpg", "/photos/broken.jpg", "/photos/x/b.jpg"]
    assert known["/photos/a.jpg"].embedded and not known["/photos/a.jpg"].failed
    assert known["/photos/broken.jpg"].failed and not known["/photos/broken.jpg"].embedded
    assert not catalog.known_files("/photos", "other-model")["/photos/a.jpg"].embedded


def test_relocate_swaps_paths_and_keeps_vectors(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    a, b = catalog.store([_record("/p/a.jpg", root, 10), _record("/p/b.jpg", root, 20)], MODEL)
    catalog.relocate([(a, Location("/p/b.jpg", 10, 5, 1, 1, root)), (b, Location("/p/a.jpg", 20, 6, 2, 1, root))])
    rows = catalog.files([a, b])
    assert (rows[a].path, rows[b].path) == ("/p/b.jpg", "/p/a.jpg")
    assert len(catalog.vectors(MODEL)[0]) == 2


def test_missing_files_leave_results_and_come_back_with_their_status(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    ok, bad = catalog.store([_record("/p/a.jpg", root), _record("/p/b.jpg", root, error="bad")], MODEL)
    catalog.mark_missing([ok, bad])
    assert len(catalog.vectors(MODEL)[0]) == 0
    assert catalog.status_counts() == {"ok": 0, "error": 0, "missing": 2}
    catalog.mark_present([ok, bad])
    assert catalog.status_counts() == {"ok": 1, "error": 1, "missing": 0}


def test_same_size_files_and_stored_hashes(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    a, b, c, d = catalog.store(
        [_record("/p/a.jpg", root, 10), _record("/p/b.jpg", root, 10), _record("/p/c.jpg", root, 11),
         _record("/p/d.jpg", root, 10, error="bad")],
        MODEL,
    )
    assert [f.id for f in catalog.same_size_files()] == [a, b]
    catalog.set_hashes({a: "pa"}, {a: "fa", b: "fb"})
    rows = catalog.files([a, b])
    assert (rows[a].partial_hash, rows[a].full_hash, rows[b].full_hash) == ("pa", "fa", "fb")
    assert [f.id for f in catalog.same_size_files()] == [a, b]  # b's partial hash is still to compute
    catalog.set_hashes({b: "pb"}, {})
    assert catalog.same_size_files() == []  # distinct partial hashes: no identical files of that size
    catalog.set_hashes({b: "pa"}, {})
    assert [f.id for f in catalog.same_size_files()] == [a, b]


def test_file_columns_are_the_rows_columns(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    ids = catalog.store([_record("/p/a.jpg", root, 10), _record("/p/b.jpg", root, 20, error="broken")], MODEL)
    names = ("path", "size", "width", "mtime_ns", "grey")
    columns, rows = catalog.file_columns(ids + [99_999], names), catalog.files(ids)
    assert sorted(columns) == sorted(ids)  # an id not catalogued is left out
    assert all(tuple(getattr(columns[i], n) for n in ("id", *names)) == tuple(getattr(rows[i], n) for n in ("id", *names)) for i in ids)


def test_same_size_files_see_another_writer(catalog_location: Path | str) -> None:
    """What `same_size_files` reads is kept between regroups, yet a file stored through another
    connection (another process's scan) shows at once."""
    with Catalog(catalog_location) as mine, Catalog(catalog_location) as theirs:
        root = mine.add_root("/p")
        (a,) = mine.store([_record("/p/a.jpg", root, 10)], MODEL)
        assert mine.same_size_files() == []
        (b,) = theirs.store([_record("/p/b.jpg", root, 10)], MODEL)
        assert [f.id for f in mine.same_size_files()] == [a, b]


def test_version_moves_with_every_commit_from_anywhere(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with Catalog(path) as mine, Catalog(path) as theirs:
        first, own = mine.version(), mine.changes
        assert first is not None and mine.version() == first  # reading changes nothing
        mine.files([1])
        assert mine.version() == first
        theirs.add_root("/elsewhere")  # another connection's commit, unseen by `changes`
        assert mine.changes == own and mine.version() != first
        second = mine.version()
        with sqlite3.connect(path) as raw:  # not even through SQLAlchemy
            raw.execute("INSERT INTO meta (key, value) VALUES ('written', 'elsewhere')")
        assert mine.version() != second
        third = mine.version()
        mine.add_root("/mine")
        assert mine.version() != third
        with sqlite3.connect(path) as raw:  # the probe holds no read open: the log can be emptied
            busy, _, _ = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0 and mine.version() is not None


def test_kept_answers_from_memory_until_something_changes(catalog_location: Path | str) -> None:
    asked: list[int] = []

    def work() -> int:
        asked.append(1)
        return len(asked)

    with Catalog(catalog_location) as mine, Catalog(catalog_location) as theirs:
        if mine.on_server:  # no cheap way to see another process's commit: worked out every time
            assert mine.version() is None
            assert (mine.kept("n", work), mine.kept("n", work)) == (1, 2)
            return
        assert (mine.kept("n", work), mine.kept("n", work)) == (1, 1)
        assert mine.kept("n", work, given="other settings") == 2
        assert mine.kept("n", work, given="other settings") == 2
        theirs.add_root("/elsewhere")
        assert mine.kept("n", work, given="other settings") == 3
        assert mine.kept("m", work) == 4  # another name, its own answer
        assert mine.kept("n", work, given="other settings") == 3


@pytest.mark.parametrize("first_fails", [False, True])
def test_kept_is_worked_out_once_for_callers_side_by_side(tmp_path: Path, first_fails: bool) -> None:
    """A second caller asking while the answer is being worked out waits for it (the app's
    Bursts and Similar tabs both need the copies left out); if the first fails, the
    second works it out itself."""
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def work() -> str:
        calls.append(threading.current_thread().name)
        started.set()
        if len(calls) == 1:
            assert release.wait(10)
            if first_fails:
                raise RuntimeError("the first try failed")
        return f"answer {len(calls)}"

    with Catalog(tmp_path / "c.sqlite") as catalog, ThreadPoolExecutor(2) as pool:
        first = pool.submit(catalog.kept, "n", work)
        assert started.wait(10)
        second = pool.submit(catalog.kept, "n", work)
        time.sleep(0.3)  # the second caller is in `kept` by now (the first holds no lock)
        assert len(calls) == 1
        release.set()
        if first_fails:
            with pytest.raises(RuntimeError):
                first.result(10)
            assert second.result(10) == "answer 2"
        else:
            assert first.result(10) == second.result(10) == "answer 1"
            assert catalog.kept("n", work) == "answer 1"
        assert len(calls) == (2 if first_fails else 1)


def test_counting_signatures_reads_an_index_not_the_rows(tmp_path: Path) -> None:
    """The graph's token counts the signatures at every open: through their own index, not
    the table's 4 KB rows (a million photos read cold: 3.9 s against 0.15 s). Catalogs made
    before the index get it when opened."""
    path = tmp_path / "c.sqlite"
    Catalog(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("DROP INDEX ix_signatures_file")
    with Catalog(path) as catalog, catalog.session() as session:
        sql = str(SIGNATURE_COUNT.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "COVERING INDEX ix_signatures_file" in plan


def test_iter_files_streams_present_files_by_path(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    ids = catalog.store([_record(f"/p/{i:04d}.jpg", root, i + 1) for i in range(2500)], MODEL)
    catalog.mark_missing(ids[:10])
    paths = [f.path for f in catalog.iter_files()]
    assert len(paths) == 2490 and paths == sorted(paths)


def test_mark_scanned_and_size(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    catalog.mark_scanned([root], when=123.0)
    assert [(r.path, r.last_scan_at) for r in catalog.roots()] == [("/p", 123.0)]
    assert catalog.size_bytes() > 0
    if not catalog.on_server:
        assert catalog.size_bytes() >= catalog.path.stat().st_size


def test_a_newer_catalog_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(CatalogError, match="newer"):
        Catalog(path)


def test_root_counts_and_removing_a_root(samples: Path, tmp_path: Path, embedder: Embedder) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copyfile(samples / "coffee.jpg", other / "coffee.jpg")
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        Scanner(catalog, embedder, workers=1).run([samples, other])
        counts = catalog.root_counts()
        assert counts[str(samples)][0] == 10 and counts[str(other)][0] == 1
        assert all(scanned is not None for _, scanned in counts.values())

        assert catalog.remove_root(str(samples)) == 10
        assert set(catalog.root_counts()) == {str(other)}
        ids, _ = catalog.vectors(embedder.model_id)
        assert len(ids) == 1 and len(catalog.signatures(list(ids))) == 1
        with catalog.session() as session:  # vectors and signatures went with their files
            assert session.scalar(select(func.count()).select_from(Embedding)) == 1
            assert session.scalar(select(func.count()).select_from(Signature)) == 1
        assert (samples / "coffee.jpg").is_file()  # nothing on disk is touched
        assert catalog.remove_root(str(samples)) == 0


#: The catalog as the first release wrote it (schema 1: no files.grey, no signatures table).
SCHEMA_1 = """
CREATE TABLE meta ("key" VARCHAR NOT NULL, value TEXT NOT NULL, PRIMARY KEY ("key"));
CREATE TABLE roots (id INTEGER NOT NULL, path TEXT NOT NULL, added_at FLOAT NOT NULL, last_scan_at FLOAT,
    PRIMARY KEY (id), UNIQUE (path));
CREATE TABLE files (id INTEGER NOT NULL, root_id INTEGER, path TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, inode INTEGER, device INTEGER, partial_hash VARCHAR, full_hash VARCHAR,
    width INTEGER, height INTEGER, format VARCHAR, taken_at VARCHAR, camera VARCHAR, has_gps BOOLEAN NOT NULL,
    status VARCHAR NOT NULL, error TEXT, scanned_at FLOAT, PRIMARY KEY (id),
    FOREIGN KEY(root_id) REFERENCES roots (id) ON DELETE SET NULL, UNIQUE (path));
CREATE TABLE embeddings (file_id INTEGER NOT NULL, model_id VARCHAR NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (file_id, model_id), FOREIGN KEY(file_id) REFERENCES files (id) ON DELETE CASCADE);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO roots VALUES (1, '/p', 1.0, 2.0);
INSERT INTO files (id, root_id, path, size, mtime_ns, width, height, has_gps, status)
    VALUES (7, 1, '/p/a.jpg', 10, 1010, 4, 3, 1, 'ok');
"""


def test_a_schema_1_catalog_is_migrated_at_open_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    db = sqlite3.connect(path)
    with db:
        db.executescript(SCHEMA_1)
        db.execute("INSERT INTO embeddings VALUES (7, ?, ?)", (MODEL, _unit(10).astype(np.float16).tobytes()))
    db.close()

    with Catalog(path) as catalog:
        ids, vectors = catalog.vectors(MODEL)
        assert ids.tolist() == [7] and np.allclose(vectors[0], _unit(10), atol=5e-3)
        row = catalog.files([7])[7]
        assert (row.path, row.width, row.has_gps, row.grey) == ("/p/a.jpg", 4, True, False)
        assert [(r.path, r.last_scan_at) for r in catalog.roots()] == [("/p", 2.0)]
        catalog.store([_record("/p/b.jpg", 1, 20, grey=True)], MODEL)  # the new column is written
        with catalog.session() as session:
            assert session.get(Meta, "schema_version").value == str(SCHEMA_VERSION) == "6"
            assert session.scalar(select(func.count()).where(File.grey)) == 1

    with Catalog(path) as catalog:  # opening again runs no migration twice
        assert catalog.status_counts()["ok"] == 2


def test_owns_names_the_catalogs_files_and_nothing_beside_them(tmp_path: Path) -> None:
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        ours = ["catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", "catalog.sqlite.scan-lock",
                "catalog.sqlite.corrupt-20250101-120000", "catalog.m_1.usearch", "catalog.m_1.usearch.state.npz",
                "catalog.m_1.graph.npz"]
        theirs = ["catalog.jpg", "photo.jpg", "catalogue.sqlite.jpg", "catalog.usage.png"]
        assert all(catalog.owns(str(tmp_path / name)) for name in ours)
        assert not any(catalog.owns(str(tmp_path / name)) for name in theirs)
        assert not catalog.owns(str(tmp_path / "elsewhere" / "catalog.sqlite"))
        assert catalog.owns(str(catalog.index_path("m:1")))


def _columns(path: Path, table: str) -> set[str]:
    return {row[1] for row in sqlite3.connect(path).execute(f"PRAGMA table_info({table})")}


def _as_schema_3(path: Path, model_id: str) -> tuple[dict[int, bytes], np.ndarray, int]:
    """Rewrite a scanned catalog the way schema 3 stored it (float16 vectors, raw 64x64
    detail thumbnails): (signatures, vectors by file id order, file count) as it held them."""
    with Catalog(path) as catalog:
        ids, vectors = catalog.vectors(model_id)
        signatures = catalog.signatures(ids.tolist())
        files = catalog.status_counts()["ok"]
    db = sqlite3.connect(path)
    rng = np.random.default_rng(3)
    with db:
        db.execute("ALTER TABLE signatures ADD COLUMN detail BLOB")
        for fid, vector in zip(ids.tolist(), vectors):
            db.execute("UPDATE embeddings SET vector = ? WHERE file_id = ?", (vector.astype(np.float16).tobytes(), fid))
            db.execute("UPDATE signatures SET detail = ? WHERE file_id = ?", (rng.bytes(4096), fid))
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        db.execute("INSERT INTO decisions VALUES (?, ?, 'not_duplicate', 1.0)", (int(ids[0]), int(ids[1])))
    db.isolation_level = None
    for pragma in ("journal_mode=DELETE", "page_size=4096", "journal_mode=WAL"):  # SQLite's default, as v3 had
        db.execute(f"PRAGMA {pragma}")
        if pragma.startswith("page_size"):
            db.execute("VACUUM")
    db.close()
    return signatures, vectors.astype(np.float16).astype(np.float32), files


def test_a_schema_3_catalog_is_packed_at_open_and_loses_nothing_it_needs(samples: Path, tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "catalog.sqlite"
    with Catalog(path) as catalog:
        Scanner(catalog, embedder, workers=1).run([samples])
    signatures, vectors, files = _as_schema_3(path, embedder.model_id)
    cached = path.with_name(f"{path.stem}.model.usearch")
    cached.write_bytes(b"an index of the float16 vectors")
    assert sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0] == 4096

    with Catalog(path) as catalog:
        with catalog.session() as session:
            assert session.get(Meta, "schema_version").value == str(SCHEMA_VERSION) == "6"
        ids, migrated = catalog.vectors(embedder.model_id)
        assert catalog.signatures(ids.tolist()) == signatures  # bit for bit
        assert np.abs(migrated @ migrated.T - vectors @ vectors.T).max() < 0.004
        assert catalog.status_counts()["ok"] == files
        with catalog.session() as session:
            stored = session.scalars(select(Embedding.vector)).all()
            assert session.scalar(select(func.count()).select_from(Decision)) == 1
    assert all(len(v) == embedder.dim for v in stored)
    assert "detail" not in _columns(path, "signatures")  # made from the files when a proof needs one
    assert not cached.exists()  # a cache of the float16 vectors is rebuilt, not trusted
    assert sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE


def _indexes(path: Path) -> set[str]:
    return {name for (name,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_a_schema_4_catalog_is_reindexed_and_loses_its_details_at_open_keeping_its_caches(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with Catalog(path) as catalog:
        root = catalog.add_root("/p")
        catalog.store([_record("/p/a.jpg", root, 20), _record("/p/b.jpg", root, 20)], MODEL)
        signatures = catalog.signatures([1, 2])
    db = sqlite3.connect(path)
    with db:  # the files' indexes and the detail thumbnails as schema 4 had them
        db.execute("DROP INDEX ix_files_size_status")
        db.execute("CREATE INDEX ix_files_size ON files (size)")
        db.execute("ALTER TABLE signatures ADD COLUMN detail BLOB")
        db.execute("UPDATE signatures SET detail = randomblob(300000)")  # enough to see the space come back
        db.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    db.close()
    pages = path.stat().st_size
    cached = path.with_name(f"{path.stem}.model.graph.npz")
    cached.write_bytes(b"a graph of the vectors, still valid")

    with Catalog(path) as catalog:
        with catalog.session() as session:
            assert session.get(Meta, "schema_version").value == str(SCHEMA_VERSION) == "6"
        assert [r.path for r in catalog.same_size_files()] == ["/p/a.jpg", "/p/b.jpg"]
        assert catalog.signatures([1, 2]) == signatures

    assert "ix_files_size_status" in _indexes(path) and "ix_files_size" not in _indexes(path)
    assert "detail" not in _columns(path, "signatures")
    assert path.stat().st_size < pages - 500_000  # the details' space given back (VACUUM)
    # Its verdicts stay true (same vectors, signatures and files): a rebuild at 1M is spared.
    assert cached.read_bytes() == b"a graph of the vectors, still valid"
