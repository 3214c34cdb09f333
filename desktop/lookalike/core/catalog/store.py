"""The catalog: opening it safely (WAL, schema version, migrations) and its queries.

A catalog is a SQLite file, or a database on a PostgreSQL server given as a
`postgresql://` URL (core/catalog/server.py): the same tables, migrations and
queries; what differs (upserts, locks, text escaping, where the index files
live, how a failed write reads) is decided here, by `Catalog.on_server`.
The file checks below are SQLite's.

Opening checks the file (`PRAGMA quick_check`, at most daily for big catalogs, whose
header is still checked every time): a damaged catalog is set aside as
`<name>.corrupt-<time>` (with its WAL) and a fresh one is started, with a
`CatalogRecovered` warning, rather than failing every command until a person
deletes the file by hand. A catalog is only a cache of the disks plus the
deletion history, so a rescan rebuilds all but that history, which the backup keeps.
Only a file that is ours is set aside (`_looks_like_a_catalog`): any other file
given as the catalog (a typo'd path to a document, another program's database)
is refused and left untouched.
Whatever else stops the open (a folder, a path that cannot be created, a locked
or unreadable file) is a `CatalogError` with a one-line reason.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

import numpy as np
from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, case, create_engine, delete, event, func, insert, inspect, or_, select, text, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, Engine, Row
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.orm import Session, sessionmaker

from lookalike.core.catalog import blobs, locking, server, sqltext
from lookalike.core.catalog.schema import SCHEMA_VERSION, Base, Embedding, File, Meta, Root, Signature

_T = TypeVar("_T")
#: One answer `Catalog.kept` is working out: the (version, given) it is for, and the answer to come.
_Working = tuple[tuple[Hashable, Hashable], Future]


def _has_column(session: Session, table: str, column: str) -> bool:
    return column in {c["name"] for c in inspect(session.connection()).get_columns(table)}


def _add_column(session: Session, table: str, column: str, constraint: str = "") -> None:
    """ALTER TABLE ... ADD COLUMN, of the type schema.py gives it in this database's dialect,
    skipped when it is there already: a catalog written between a column's arrival and
    the version bump that announced it has it, or one that another process opening it
    at the same moment has just upgraded."""
    if _has_column(session, table, column):
        return
    kind = Base.metadata.tables[table].c[column].type.compile(dialect=session.connection().dialect)
    try:
        session.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind} {constraint}".rstrip()))
    except OperationalError as exc:
        if "duplicate column name" not in str(exc.orig):
            raise


def _add_columns(session: Session, *columns: tuple[str, str]) -> None:
    for table, column in columns:
        _add_column(session, table, column)


def _drop_indexes(session: Session, *names: str) -> None:
    """Schema 4 -> 5: drop indexes a newer one replaces (`_create_tables` made it at open)."""
    for name in names:
        session.execute(text(f"DROP INDEX IF EXISTS {name}"))


#: File ids whose rows the schema 4 migration rewrites per statement.
_PACK_BATCH = 5000


def _pack_blobs(session: Session) -> None:
    """Schema 3 -> 4: float16 vectors become int8 (core/catalog/blobs.py), file id range
    by range; nothing else changes. Plain SQLAlchemy Core (no rowid, no driver SQL), so it
    runs on any database the catalog lives in. A SQLite file gets its space back by the
    VACUUM after the migration."""
    top = session.scalar(select(func.max(Embedding.file_id))) or 0
    embeddings = Embedding.__table__  # Core: many rows per statement
    vectors = (
        update(embeddings)
        .where(embeddings.c.file_id == bindparam("b_file"), embeddings.c.model_id == bindparam("b_model"))
        .values(vector=bindparam("b_blob"))
    )
    for low in range(0, top, _PACK_BATCH):
        rows = session.execute(
            select(Embedding.file_id, Embedding.model_id, Embedding.vector).where(Embedding.file_id.between(low + 1, low + _PACK_BATCH))
        ).all()
        if rows:
            session.execute(vectors, [
                {"b_file": fid, "b_model": model, "b_blob": blobs.pack_vector(np.frombuffer(blob, dtype=np.float16))}
                for fid, model, blob in rows
            ])


def _drop_column(session: Session, table: str, column: str) -> None:
    """ALTER TABLE ... DROP COLUMN, skipped when the column is not there (a catalog
    migrated from before it arrived, or one another process has just upgraded)."""
    if _has_column(session, table, column):
        session.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))


#: version -> function upgrading a catalog from that version to the next, run at open.
MIGRATIONS: dict[int, Callable[[Session], None]] = {
    1: lambda session: _add_column(session, "files", "grey", "NOT NULL DEFAULT false"),
    2: lambda session: _add_columns(
        session,
        ("files", "captured"),
        ("files", "sharpness"),
        ("files", "highlights"),
        ("files", "shadows"),
        ("files", "brightness"),
    ),
    3: lambda session: _pack_blobs(session),
    4: lambda session: _drop_indexes(session, "ix_files_size"),
    # Details are made from the files when a proof needs them (core/matching/evidence.py).
    5: lambda session: _drop_column(session, "signatures", "detail"),
}
#: Migrations that only change indexes: no space to give back.
_INDEXES_ONLY = frozenset({4})
#: Migrations after which the caches beside the catalog (index, graph: a million photos'
#: take minutes to rebuild) stay valid: the vectors, signatures and verdicts are unchanged.
_CACHES_VALID = frozenset({4, 5})
#: SQLite's default limit on bound parameters is 999: id lists are sent in chunks.
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class KnownFile:
    """What the catalog remembers of a path, enough to decide whether to reopen it."""

    id: int
    size: int
    mtime_ns: int
    status: str  # ok | error | missing | deleted (by a deletion batch)
    failed: bool  # the last decode failed (kept while the file is missing)
    embedded: bool  # has a vector for the model asked about, a structure signature and shot measures
    partial_hash: str | None
    full_hash: str | None
    inode: int | None
    device: int | None


@dataclass(frozen=True, slots=True)
class Location:
    """Where and how a file was seen on disk."""

    path: str
    size: int
    mtime_ns: int
    inode: int | None
    device: int | None
    root_id: int | None


@dataclass(frozen=True, slots=True)
class Shot:
    """How good a shot is, as measured at scan time (scan/exposure.py) and stored per file."""

    sharpness: float  # mean absolute Laplacian over the mean absolute gradient (contrast-independent)
    highlights: float  # fraction of pixels blown out
    shadows: float  # fraction of pixels crushed to black
    brightness: float  # mean grey level (0-255)


@dataclass(frozen=True, slots=True)
class FileRecord:
    """The outcome of opening one file: a vector and metadata, or an error reason.

    `id` is None for a path new to the catalog, else the row to overwrite;
    `same_content` marks a known file re-read only for a new model, whose other
    models' vectors and full hash stay valid. `full_hash` is that of the bytes
    read (None when they could not be hashed).
    """

    location: Location
    id: int | None = None
    same_content: bool = False
    error: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    taken_at: str | None = None
    captured: str | None = None
    camera: str | None = None
    has_gps: bool = False
    grey: bool = False
    partial_hash: str | None = None
    full_hash: str | None = None
    vector: np.ndarray | None = None
    signature: bytes | None = None  # core/structure.py thumbnail, stored with the vector
    shot: Shot | None = None  # core/shot.py measures


@dataclass(frozen=True, slots=True)
class HashCandidate:
    """An ok file that shares its size with another: a possible byte-identical copy."""

    id: int
    path: str
    size: int
    mtime_ns: int
    partial_hash: str | None
    full_hash: str | None


class CatalogError(Exception):
    """The catalog cannot be opened or is newer than this version of Lookalike."""


class CatalogBusy(CatalogError):
    """Another scan is writing this catalog (read-only use is fine meanwhile)."""

    def __init__(self, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"catalog is in use by another scan ({who}); wait for it to finish")
        self.pid = pid


class CatalogRecovered(UserWarning):
    """The catalog was damaged: it was set aside as `backup` and a new one started."""

    def __init__(self, path: Path, backup: Path, reason: str) -> None:
        super().__init__(
            f"the catalog {path} was damaged ({reason}); it was kept as {backup} and a new, "
            "empty catalog was started: scan your folders again"
        )
        self.path, self.backup, self.reason = path, backup, reason


#: A catalog up to this size gets a full PRAGMA quick_check at every open (~0.2 s);
#: a bigger one (~0.8 s per 100k photos) at most every FULL_CHECK_EVERY seconds, or
#: sooner when its header looks wrong (garbage, truncation); in between its schema is read.
FULL_CHECK_BYTES = 128 << 20
FULL_CHECK_EVERY = 24 * 3600
#: SQLite result codes of a damaged file (3.11+ exposes them on the exception).
_DAMAGED_CODES = (getattr(sqlite3, "SQLITE_CORRUPT", 11), getattr(sqlite3, "SQLITE_NOTADB", 26))
#: The first bytes of every SQLite file.
_SQLITE_MAGIC = b"SQLite format 3\0"
#: Names a catalog file is given (the default is catalog.sqlite): a damaged file so named is ours.
_CATALOG_SUFFIXES = (".sqlite", ".sqlite3", ".db")
#: Schema text every Lookalike catalog holds near its start, header damage or not.
_SCHEMA_MARK = b"CREATE TABLE embeddings"


#: A photo's thumbnails take ~3.8 KB: on SQLite's default 4 KB pages each row fills a
#: page of its own (~0.3-0.9 KB wasted a photo), 64 KB pages hold ~17 (~0.1 KB wasted;
#: docs/calibration.md). Reads cost no more (a page comes from the OS cache in
#: microseconds); a small write (a decision) logs one 64 KB page, which is rare.
PAGE_SIZE = 65536


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect only on a new, empty file
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    sqltext.install(dbapi_connection)


def _escape_text(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
    """Every string bound to a statement, stored so that any file name fits (core/sqltext.py)."""
    return statement, sqltext.escape_parameters(parameters)


def _escape_server_text(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
    """`_escape_text` for PostgreSQL, whose text holds no NUL (core/sqltext.py)."""
    return statement, sqltext.escape_parameters(parameters, sqltext.SERVER)


def _install_server_text(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    server.install_text_loader(dbapi_connection)


class Catalog:
    """One catalog. Thread-safe for readers; writes go through one writer at a time."""

    def __init__(self, location: Path | str) -> None:
        """Open (or create) the catalog at `location`, a file path or a `postgresql://` URL;
        raises CatalogError with a one-line reason (never showing a password)."""
        #: Set when the file was damaged and replaced by a fresh catalog at this open.
        self.recovered: CatalogRecovered | None = None
        #: Statements that changed the catalog through this object, so that what is worked out
        #: from its rows can be kept until they change (core/review/tiers.py); another
        #: process's writes are not counted here (`version` sees them).
        self.changes = 0
        #: What `kept` answers from memory, by name: (the `version` and the `given` it holds for, the answer).
        self._kept: dict[str, tuple[Hashable, Hashable, object]] = {}
        #: What `kept` is working out now, by name: its (version, given) and the answer to come.
        self._working: dict[str, _Working] = {}
        #: A connection that only ever asks SQLite's data_version (`version`).
        self._probe: sqlite3.Connection | None = None
        self._probe_lock = threading.Lock()
        self._scan_lock_owner: int | None = None
        #: The server's URL (None for a SQLite file).
        self.url: URL | None = None
        if server.is_url(location):
            self._open_server(str(location))
        else:
            self._open_file(Path(location))

    @property
    def on_server(self) -> bool:
        """Whether the catalog is a PostgreSQL database rather than a SQLite file."""
        return self.url is not None

    def _open_file(self, path: Path) -> None:
        #: The catalog file; for a server catalog, a name in its cache folder that the
        #: files derived from it (index, graph, map) are named after (`index_path`).
        self.path = path.expanduser().resolve()
        self._folder = str(self.path.parent)
        #: The catalog as messages and `stats` show it.
        self.location = str(self.path)
        if self.path.is_dir():
            raise CatalogError(f"{self.path} is a folder; a catalog is a file (e.g. {self.path / 'catalog.sqlite'})")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._vet()
        except OSError as exc:
            raise CatalogError(f"cannot open the catalog {self.path}: {_os_reason(exc)}") from exc
        self.engine: Engine = create_engine(f"sqlite:///{self.path}")
        event.listen(self.engine, "connect", _sqlite_pragmas)
        event.listen(self.engine, "before_cursor_execute", _escape_text, retval=True)
        event.listen(self.engine, "after_cursor_execute", self._count_change)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._open_schema()

    def _open_server(self, location: str) -> None:
        try:
            self.url = url = server.parse(location)
        except Exception as exc:  # SQLAlchemy's ArgumentError, or a bad port number (the text may hold the password)
            raise CatalogError(
                "the catalog URL cannot be read; its form is postgresql://user:password@host:port/database"
            ) from exc
        self.location = server.shown_url(url)
        self.path = server.cache_folder(url) / "catalog"
        self._folder = str(self.path.parent)
        try:
            import psycopg  # noqa: F401  (the optional extra)
        except ImportError as exc:
            raise CatalogError(
                f"cannot open the catalog {self.location}: a PostgreSQL catalog needs psycopg "
                "(pip install 'lookalike[postgres]')"
            ) from exc
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(f"cannot create the cache folder of {self.location}: {_os_reason(exc)}") from exc
        self.engine = create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"application_name": server.application_name(os.getpid()), "connect_timeout": 10},
        )
        event.listen(self.engine, "connect", _install_server_text)
        event.listen(self.engine, "before_cursor_execute", _escape_server_text, retval=True)
        event.listen(self.engine, "after_cursor_execute", self._count_change)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._open_schema()

    def _count_change(self, _conn, _cursor, statement: str, *_: object) -> None:  # type: ignore[no-untyped-def]
        """Count every statement but a read (one rolled back too: counting more is harmless)."""
        if not statement.lstrip()[:6].upper().startswith(("SELECT", "PRAGMA")):
            self.changes += 1

    def _open_schema(self) -> None:
        """Create or upgrade the tables; any failure is a CatalogError naming the catalog."""
        try:
            self._migrate()
        except SQLAlchemyError as exc:
            self.engine.dispose()
            reason = self._write_failure(exc) if isinstance(exc, OperationalError) else None
            raise CatalogError(
                f"cannot open the catalog {self.location}: {reason or self._reason(exc)}"
            ) from exc
        except CatalogError:
            self.engine.dispose()
            raise

    def _vet(self) -> None:
        """Refuse a file that is not ours (left untouched); set a damaged catalog aside and start afresh."""
        untouched = "it was left untouched: choose another file"
        newer = _stored_version(self.path)
        if newer is not None and newer > SCHEMA_VERSION:
            raise CatalogError(_newer_message(self.path, newer))
        if _foreign(self.path):
            raise CatalogError(f"{self.path} is another program's database, not a Lookalike catalog; {untouched}")
        damage = _damage(self.path)
        if damage is None:
            return
        if not _looks_like_a_catalog(self.path):
            raise CatalogError(
                f"{self.path} is not a Lookalike catalog ({damage}); {untouched}"
            )
        self.recovered = CatalogRecovered(self.path, _set_aside(self.path), damage)
        # Shown once on stderr by Python's warning machinery as "lookalike:0: CatalogRecovered: ...";
        # the app can read `recovered` to tell the person in a dialog.
        warnings.warn_explicit(self.recovered, CatalogRecovered, "lookalike", 0, module="lookalike.core.catalog.store")

    def close(self) -> None:
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None
        self.engine.dispose()

    def version(self) -> Hashable | None:
        """A value that differs whenever anything may have been committed to the catalog since
        it was last asked, by this object or by another process (a `lookalike scan` in a
        terminal while the app is open); None where that cannot be told cheaply (a server
        catalog).

        SQLite's `PRAGMA data_version` changes on a connection whenever another connection
        commits: the probe connection never writes, so every commit (this object's own
        pooled connections included) moves it, and asking costs microseconds where re-reading
        what depends on the rows costs ~0.7 s a regroup at a million photos.
        """
        if self.on_server:
            return None
        try:
            with self._probe_lock:
                if self._probe is None:
                    # Autocommit: the probe never holds a read transaction open (checkpoints go on).
                    self._probe = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
                ((data_version,),) = self._probe.execute("PRAGMA data_version").fetchall()  # done: no read left open
        except sqlite3.Error:
            return None  # cannot tell: callers work it out again
        return (data_version, self.changes)

    def kept(self, name: str, work: Callable[[], _T], given: Hashable = None) -> _T:
        """`work()`, answered from memory while the catalog is unchanged (`version`) and
        `given` (what else the answer depends on) is the same: for what every regroup
        repeats (the graph's token, the files that may have a byte-identical twin, the
        copies the looser tiers leave out). One answer is kept per `name`. Worked out
        every time where `version` cannot tell.

        Asked again while it is being worked out for the same state, the answer is waited
        for, not worked out beside it: the app's Bursts and Similar tabs fill side by side
        and both need the copies left out (at a million photos ~15 s each, twice as long
        when two threads share the GIL). A failed answer is worked out again by each waiter.
        `work` must not ask `kept` for its own name: it would wait for itself.
        """
        version = self.version()  # taken first: a commit during `work` makes the answer stale
        if version is None:
            return work()
        key = (version, given)
        with self._probe_lock:
            hit = self._kept.get(name)
            if hit is not None and hit[:2] == key:
                return hit[2]  # type: ignore[return-value]
            running = self._working.get(name)
            if running is None or running[0] != key:
                running, waiting = (key, Future()), None
                self._working[name] = running
            else:
                waiting = running[1]
        if waiting is not None:
            try:
                return waiting.result()  # type: ignore[no-any-return]
            except Exception:  # noqa: BLE001 - the failure is the worker's to report: try again here
                return work()
        try:
            answer = work()
        except BaseException as error:
            self._done_working(name, running)
            running[1].set_exception(error)
            raise
        self._done_working(name, running, (version, given, answer))
        running[1].set_result(answer)
        return answer

    def _done_working(self, name: str, running: _Working, kept: tuple[Hashable, Hashable, object] | None = None) -> None:
        """`kept`'s work on `name` over: its answer kept (when it has one), in the same step."""
        with self._probe_lock:
            if kept is not None:
                self._kept[name] = kept
            if self._working.get(name) is running:
                del self._working[name]

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on error.

        A disk that is full or failing is a `CatalogError` with one sentence: the
        transaction was rolled back, so the catalog holds everything before it.
        """
        try:
            with self._sessions() as session, session.begin():
                yield session
        except OperationalError as exc:
            reason = self._write_failure(exc)
            if reason is None:
                raise
            raise CatalogError(
                f"cannot write the catalog {self.location}: {reason}; what was saved before is intact: "
                "free some space and run the command again"
            ) from exc

    def _write_failure(self, exc: OperationalError) -> str | None:
        """Why a statement failed when it is the disk's (or the server's) fault, else None."""
        if self.url is None:
            return _disk_failure(exc, self.path.parent)
        state = getattr(exc.orig, "sqlstate", None)
        if state == server.DISK_FULL:
            return "the server's disk is full"
        if state is None or state.startswith("08"):  # no answer, or the connection was lost
            return f"the server did not answer ({self._reason(exc)})"
        return None

    def _reason(self, exc: BaseException) -> str:
        """The driver's message in one line, without the server's password."""
        message = str(getattr(exc, "orig", None) or exc)
        line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
        return server.scrubbed(line, self.url) if self.url is not None else line

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the catalog's lock `name` for the block, or raise locking.LockHeld at once.

        A file beside a SQLite catalog (core/catalog/locking.py), an advisory lock on a
        server's (core/catalog/server.py): either is dropped when its holder dies.
        """
        if self.url is None:
            with locking.exclusive(self.path.with_name(f"{self.path.name}.{name}-lock")):
                yield
            return
        with server.advisory_lock(self.engine, name) as held:
            if not held:
                raise locking.LockHeld(self.location, server.lock_holder(self.engine, name))
            yield

    def upsert(self, session: Session, table: Table, rows: list[dict[str, object]], keys: Sequence[str]) -> None:
        """Insert `rows`, overwriting the other columns of a row whose `keys` exist already.

        One statement (INSERT ... ON CONFLICT), so that two processes writing the same
        key at once both succeed, where a select-then-insert lets both insert it.
        """
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in rows[0] if c not in keys}
        )
        session.execute(stmt, rows)

    def insert_new(self, session: Session, table: Table, rows: list[dict[str, object]]) -> int:
        """Insert the `rows` whose primary key is not there yet; returns how many were.

        Counted by RETURNING, so that of two processes storing the same row at once
        exactly one counts it.
        """
        key = table.primary_key.columns.values()[0]
        stmt = self._insert(table).on_conflict_do_nothing().returning(key)
        return len(session.execute(stmt, rows).all())

    def _insert(self, table: Table):  # type: ignore[no-untyped-def]
        return (pg_dialect.insert if self.url is not None else sqlite_dialect.insert)(table)

    @contextmanager
    def scan_lock(self) -> Iterator[None]:
        """Be the only scan writing this catalog, or raise CatalogBusy at once.

        Held for a whole scan, so two scans never interleave their diffs of the
        same folders; readers (stats, duplicates, search, the app) never take it.
        Re-entrant in the thread holding it (the CLI takes it before loading the
        model, to fail fast, then the scan takes it again).
        """
        if self._scan_lock_owner == threading.get_ident():
            yield
            return
        try:
            with self.lock("scan"):
                self._scan_lock_owner = threading.get_ident()
                try:
                    yield
                finally:
                    self._scan_lock_owner = None
        except locking.LockHeld as exc:
            raise CatalogBusy(exc.pid) from exc

    def index_path(self, model_id: str) -> Path:
        """Where the vector index for `model_id` is kept: beside a catalog file, in the cache
        folder of a server's (each machine keeps its own copy of what it derives)."""
        safe = "".join(c if c.isalnum() else "_" for c in model_id)
        return self.path.with_name(f"{self.path.stem}.{safe}.usearch")

    def owns(self, path: str) -> bool:
        """True for a file this catalog keeps beside itself, all named after it: the
        catalog, its WAL, shared memory, locks and set-aside copies (`<name>*`), and its
        indexes and graphs (`<stem>.<model>.usearch*`, `<stem>.<model>.graph.npz*`).
        A scan skips these and nothing else, so photos in the same folder are found."""
        if not path.startswith(self._folder):  # most files, cheaply (asked once per file walked)
            return False
        folder, name = os.path.split(path)
        if folder != str(self.path.parent):
            return False
        if name.startswith(self.path.name):
            return True
        return name.startswith(f"{self.path.stem}.") and (".usearch" in name or ".graph.npz" in name)

    def _migrate(self) -> None:
        if self.url is not None:
            self._vet_server()
        self._create_tables()
        ran = self._upgrade()
        if ran - _INDEXES_ONLY and self.url is None:  # a server reclaims space itself (autovacuum)
            self._vacuum()
        if ran - _CACHES_VALID:
            self._drop_caches()

    def _vacuum(self) -> None:
        """Give the space a migration freed (schema 4 packs every vector, 6 drops the
        details) back to the disk, once, on PAGE_SIZE pages. Without room for the copy
        VACUUM makes, or with another process using the catalog, it stays as it was, and
        works. Its own connection: VACUUM cannot run inside a transaction, and a page size
        changes only outside WAL."""
        self.engine.dispose()
        db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=DELETE")
            db.execute(f"PRAGMA page_size={PAGE_SIZE}")
            db.execute("VACUUM")
        except sqlite3.OperationalError:
            pass
        finally:
            db.execute("PRAGMA journal_mode=WAL")
            db.close()

    def _drop_caches(self) -> None:
        """Remove the vector indexes and graphs kept beside the catalog after a migration:
        they hold similarities of the vectors as stored before it, and are rebuilt
        from the catalog when next needed."""
        for cached in self.path.parent.glob(f"{self.path.stem}.*"):
            if not cached.name.startswith(self.path.name) and self.owns(str(cached)):
                cached.unlink(missing_ok=True)

    def _upgrade(self) -> set[int]:
        """Bring the schema up to date; the versions migrated from."""
        migrated: set[int] = set()
        with self.session() as session:
            if self.url is not None:
                server.serialise(session.connection(), "schema")
            row = session.get(Meta, "schema_version")
            version = int(row.value) if row else SCHEMA_VERSION
            if version > SCHEMA_VERSION:  # upgraded by a newer Lookalike since `_vet` looked
                raise CatalogError(_newer_message(self.location, version))
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](session)
                migrated.add(version)
                version += 1
            facts = [{"key": "schema_version", "value": str(version)}, {"key": "opened_at", "value": str(time.time())}]
            self.upsert(session, Meta.__table__, facts, ["key"])
        return migrated

    def _vet_server(self) -> None:
        """Refuse, before writing anything, another program's database or a newer Lookalike's catalog."""
        with self.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            if tables and not tables & Base.metadata.tables.keys():
                raise CatalogError(
                    f"{self.location} holds another program's tables, not a Lookalike catalog; "
                    "it was left untouched: give an empty database"
                )
            if "meta" in tables:
                stored = connection.execute(select(Meta.value).where(Meta.key == "schema_version")).scalar()
                if stored is not None and stored.isdigit() and int(stored) > SCHEMA_VERSION:
                    raise CatalogError(_newer_message(self.location, int(stored)))

    def _create_tables(self) -> None:
        """Create what is missing with IF NOT EXISTS: two processes opening one new catalog
        at once (two CLI commands, the app and a CLI) both succeed. `create_all` checks,
        then creates, and the slower one failed with "table ... already exists".
        PostgreSQL can still race on its catalogs' own rows: there, one opener at a time.
        """
        with self.engine.begin() as connection:
            if self.url is not None:
                server.serialise(connection, "schema")
            for table in Base.metadata.sorted_tables:
                connection.execute(CreateTable(table, if_not_exists=True))
                for index in table.indexes:
                    connection.execute(CreateIndex(index, if_not_exists=True))

    # --- vectors ---------------------------------------------------------------

    def vectors(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(file ids, float32 unit vectors) of every present file embedded with `model_id`."""
        ids, rows = self.stored_vectors(model_id)
        return ids, blobs.unit_rows(rows)

    def stored_vectors(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """`vectors` as stored (int8 rows, a quarter of float32's memory: 1.3 GB at 1M photos)."""
        stmt = (
            select(Embedding.file_id, Embedding.vector)
            .join(File, File.id == Embedding.file_id)
            .where(Embedding.model_id == model_id, File.status == "ok")
            .order_by(Embedding.file_id)
        )
        with self.session() as session:
            rows = session.execute(stmt).all()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, blobs.stored_rows([r[1] for r in rows])

    def vectors_of(self, model_id: str, ids: Sequence[int]) -> np.ndarray:
        """float32 vectors of `ids`, in that order (each must have one): for small updates."""
        found: dict[int, bytes] = {}
        with self.session() as session:
            for among in self._among(Embedding.file_id, ids):
                stmt = select(Embedding.file_id, Embedding.vector).where(Embedding.model_id == model_id, among)
                found.update((fid, blob) for fid, blob in session.execute(stmt))
        return blobs.unpack_vectors([found[int(i)] for i in ids])

    def signatures(self, ids: Sequence[int]) -> dict[int, bytes]:
        """Structure signatures (core/structure.py) by file id; files without one are absent."""
        out: dict[int, bytes] = {}
        with self.session() as session:
            for among in self._among(Signature.file_id, ids):
                stmt = select(Signature.file_id, Signature.data).where(among)
                out.update((fid, data) for fid, data in session.execute(stmt))
        return out

    def sizes(self, ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ids (ascending) and sizes, as int64 arrays, of the catalogued files among `ids`, or
        of every one: a bulk column, far cheaper than whole rows (ordering a million photos'
        groups needs no more). By id costs ~1 us a file, the whole column ~0.6 us a row."""
        stmt = select(File.id, File.size)
        statements = [stmt.order_by(File.id)] if ids is None else [stmt.where(a) for a in self._among(File.id, ids)]
        rows: list[tuple[int, int]] = []
        with self.session() as session:
            connection = session.connection()
            for each in statements:
                # The driver's own tuples: two integers need no result processing, and a
                # million rows through it took 0.8-1.2 s against 0.5 s.
                rows += connection.execute(each).cursor.fetchall()
        table = np.array(rows, dtype=np.int64).reshape(-1, 2)
        order = np.argsort(table[:, 0], kind="stable")
        return table[order, 0], table[order, 1]

    def _among(self, column: ColumnElement[int], ids: Sequence[int]) -> list[ColumnElement[bool]]:
        """Conditions "`column` is one of `ids`", one per statement a read by id makes. On
        SQLite the ids go in as one JSON array: one statement of one parameter, where 64
        statements of ids spelled out took 3x as long to compile and run (the sizes of a
        million photos' 255k grouped files: 0.2 s against 0.6 s). Elsewhere, in chunks."""
        if self.on_server or not _sqlite_has_json():
            return [column.in_(chunk) for chunk in _chunks(ids)]
        listed = func.json_each(json.dumps(_ascending(ids))).table_valued("value")
        return [column.in_(select(listed.c.value))]

    def file_rows(self) -> int:
        """How many files the catalog holds, whatever their status."""
        with self.session() as session:
            return int(session.execute(select(func.count()).select_from(File)).scalar_one())

    def files(self, ids: Sequence[int]) -> dict[int, File]:
        """File rows by id (detached, read-only use)."""
        out: dict[int, File] = {}
        with self.session() as session:
            for among in self._among(File.id, ids):
                for row in session.scalars(select(File).where(among)):
                    out[row.id] = row
        return out

    def file_columns(self, ids: Sequence[int], names: Sequence[str]) -> dict[int, Row]:
        """The columns `names` (and the id) of file rows by id, as plain read-only rows
        (`row.path`): a third of the time of `files`, whose ORM objects cost ~20 us each,
        for choosing the keepers of a million photos' ~78k duplicate groups (core/review/tiers.py)."""
        columns = [File.id, *(getattr(File, name) for name in names if name != "id")]
        out: dict[int, Row] = {}
        with self.session() as session:
            for among in self._among(File.id, ids):
                for row in session.execute(select(*columns).where(among)):
                    out[row.id] = row
        return out

    def iter_files(self, statuses: Iterable[str] = ("ok", "error")) -> Iterator[File]:
        """Every file row with one of `statuses`, by path, streamed (exports of 1M rows)."""
        stmt = select(File).where(File.status.in_(list(statuses))).order_by(File.path)
        with self.session() as session:
            yield from session.scalars(stmt.execution_options(yield_per=2000))

    # --- roots -----------------------------------------------------------------

    def add_root(self, path: str) -> int:
        """The id of the scanned folder `path`, registering it the first time."""
        with self.session() as session:
            # Insert-if-absent in one statement: two machines adding one folder at once both get its id.
            self.insert_new(session, Root.__table__, [{"path": path, "added_at": time.time()}])
            return int(session.scalar(select(Root.id).where(Root.path == path)))

    def roots(self) -> list[Root]:
        """Every registered folder, by path."""
        with self.session() as session:
            return list(session.scalars(select(Root).order_by(Root.path)))

    def root_counts(self) -> dict[str, tuple[int, float | None]]:
        """(usable photos, last scan time) per scanned folder, in one grouped query."""
        stmt = (
            select(Root.path, Root.last_scan_at, func.count(File.id))
            .outerjoin(File, and_(File.root_id == Root.id, File.status == "ok"))
            .group_by(Root.id)
        )
        with self.session() as session:
            return {path: (int(count), scanned) for path, scanned, count in session.execute(stmt)}

    def remove_root(self, path: str) -> int:
        """Forget a scanned folder and its files (vectors, signatures and decisions go with
        them; nothing on disk is touched). Returns how many files were forgotten."""
        with self.session() as session:
            root_id = session.scalar(select(Root.id).where(Root.path == path))
            if root_id is None:
                return 0
            forgotten = session.execute(delete(File).where(File.root_id == root_id)).rowcount
            session.execute(delete(Root).where(Root.id == root_id))
            return int(forgotten or 0)

    def mark_scanned(self, root_ids: Iterable[int], when: float | None = None) -> None:
        """Record that these roots were fully walked (shown as "last scan")."""
        ids = list(root_ids)
        with self.session() as session:
            session.execute(update(Root).where(Root.id.in_(ids)).values(last_scan_at=when or time.time()))

    # --- scanning --------------------------------------------------------------

    def known_files(self, folder: str, model_id: str) -> dict[str, KnownFile]:
        """Every catalogued path under `folder` (any status), in one indexed range query."""
        prefix = os.path.join(folder, "")
        # Paths under the folder sort between "<folder>/" and "<folder>0" ("0" follows "/"),
        # so the unique index on path serves the query; the LIKE-free range also
        # keeps "%" and "_" in folder names literal.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        stmt = (
            select(
                File.path, File.id, File.size, File.mtime_ns, File.status, File.error,
                Embedding.file_id, Signature.file_id, File.partial_hash, File.full_hash, File.inode, File.device,
            )
            .outerjoin(Embedding, and_(Embedding.file_id == File.id, Embedding.model_id == model_id))
            # A file read before schema 3 has no shot measures nor capture time, which the
            # best-shot rule and the proof need: it counts as not embedded, so the next scan
            # reads it again (once).
            .outerjoin(Signature, and_(Signature.file_id == File.id, File.sharpness.is_not(None)))
            .where(File.path >= prefix, File.path < upper)
        )
        with self.session() as session:
            return {
                path: KnownFile(
                    fid, size, mtime, status, error is not None, emb is not None and sig is not None, *hashes_and_place
                )
                for path, fid, size, mtime, status, error, emb, sig, *hashes_and_place in session.execute(stmt)
            }

    def store(self, records: Sequence[FileRecord], model_id: str) -> list[int]:
        """Write decoded (or failed) files and their vectors in one transaction.

        New paths are inserted, known ids overwritten; a changed file loses every
        older vector (its pixels changed) and takes the full hash of the bytes read. Returns the ids in
        the order of `records`. One transaction per call is what makes an
        interrupted scan resumable without doubled rows.
        """
        if not records:
            return []
        fresh = [r for r in records if r.id is None]
        known = [r for r in records if r.id is not None]
        with self.session() as session:
            ids_by_path: dict[str, int] = {}
            if fresh:
                stmt = insert(File).returning(File.id, File.path, sort_by_parameter_order=True)
                ids_by_path.update({path: fid for fid, path in session.execute(stmt, [_row(r) for r in fresh])})
            if known:
                session.execute(update(File), [{"id": r.id, **_row(r)} for r in known])
                changed = [r.id for r in known if not r.same_content]
                for chunk in _chunks(changed):
                    session.execute(delete(Embedding).where(Embedding.file_id.in_(chunk)))
                for chunk in _chunks([r.id for r in known if r.same_content]):
                    session.execute(
                        delete(Embedding).where(Embedding.file_id.in_(chunk), Embedding.model_id == model_id)
                    )
            ids = [r.id if r.id is not None else ids_by_path[r.location.path] for r in records]
            vectors = [
                {"file_id": fid, "model_id": model_id, "vector": blobs.pack_vector(r.vector)}
                for fid, r in zip(ids, records)
                if r.vector is not None and r.error is None
            ]
            if vectors:
                session.execute(insert(Embedding), vectors)
            signatures = [
                {"file_id": fid, "data": r.signature}
                for fid, r in zip(ids, records)
                if r.signature is not None and r.error is None
            ]
            if signatures:
                self.upsert(session, Signature.__table__, signatures, ["file_id"])
        return ids

    def relocate(self, moves: Sequence[tuple[int, Location]]) -> None:
        """Give moved files their new path, keeping their ids, hashes and vectors."""
        if not moves:
            return
        rows = [
            {"id": fid, "path": loc.path, "size": loc.size, "mtime_ns": loc.mtime_ns, "inode": loc.inode,
             "device": loc.device, "root_id": loc.root_id, "status": "ok", "error": None}
            for fid, loc in moves
        ]
        with self.session() as session:
            # Two-step so that swapping two paths never trips the unique index.
            session.execute(update(File), [{"id": r["id"], "path": f"\0moving\0{r['id']}"} for r in rows])
            session.execute(update(File), rows)

    def mark_missing(self, ids: Sequence[int]) -> None:
        """Files no longer on disk: kept (decisions, history) but out of every result."""
        self._set_status(ids, "missing")

    def mark_present(self, ids: Sequence[int]) -> None:
        """Files seen again unchanged: back to ok, or error when their last decode failed."""
        self._set_status(ids, case((File.error.is_(None), "ok"), else_="error"))

    def _set_status(self, ids: Sequence[int], status: object) -> None:
        with self.session() as session:
            for chunk in _chunks(ids):
                session.execute(update(File).where(File.id.in_(chunk)).values(status=status))

    # --- identical files -------------------------------------------------------

    def same_size_files(self) -> list[HashCandidate]:
        """Ok files that may have a byte-identical twin: their size is shared by another ok
        file, and among that size's files a partial hash is missing or shared. A size whose
        files all have distinct stored partial hashes holds no identical files, and leaving
        it out spares a read and a stat of every file on a big library (1M photos: seconds)."""
        return list(self.kept("same_size_files", self._same_size_files))

    def _same_size_files(self) -> tuple[HashCandidate, ...]:
        with self.session() as session:
            return tuple(HashCandidate(*row) for row in session.execute(same_size_statement()))

    def set_hashes(self, partial: Mapping[int, str], full: Mapping[int, str]) -> None:
        """Remember computed content hashes so the next search reads nothing again."""
        with self.session() as session:
            for column, values in (("partial_hash", partial), ("full_hash", full)):
                if values:
                    session.execute(update(File), [{"id": fid, column: v} for fid, v in values.items()])

    # --- reporting -------------------------------------------------------------

    def status_counts(self) -> dict[str, int]:
        """Number of files per status (ok, error, missing), zeros included."""
        counts = {"ok": 0, "error": 0, "missing": 0}
        with self.session() as session:
            counts.update(dict(session.execute(select(File.status, func.count()).group_by(File.status)).all()))
        return counts

    def embedded_count(self, model_id: str) -> int:
        """Ok files that have a vector for `model_id`."""
        stmt = (
            select(func.count())
            .select_from(Embedding)
            .join(File, File.id == Embedding.file_id)
            .where(Embedding.model_id == model_id, File.status == "ok")
        )
        with self.session() as session:
            return int(session.scalar(stmt) or 0)

    def errors(self) -> list[tuple[str, str]]:
        """(path, reason) of every file that could not be used, by path."""
        stmt = select(File.path, File.error).where(File.status == "error").order_by(File.path)
        with self.session() as session:
            return [(path, error or "unknown error") for path, error in session.execute(stmt)]

    def size_bytes(self) -> int:
        """Disk space of the catalog, its write-ahead log included (a server's: its database's)."""
        if self.url is not None:
            with self.engine.connect() as connection:
                return int(connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0)
        parts = (self.path, self.path.with_name(self.path.name + "-wal"), self.path.with_name(self.path.name + "-shm"))
        return sum(p.stat().st_size for p in parts if p.exists())


def _damage(path: Path) -> str | None:
    """Why the catalog file at `path` is damaged, or None (healthy, absent or empty)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError:
        return None  # absent, or unreadable: opening it will say why
    if size == 0:
        return None
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=10)
        try:
            problems = _check(db, size, full=_header_looks_wrong(header, size))
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", None) in _DAMAGED_CODES:
            return str(exc)
        return None  # locked, read-only, ...: not damage; the normal open reports it
    if not problems:
        return None
    return problems[0] if len(problems) == 1 else f"{problems[0]}, and {len(problems) - 1} more problems"


def _foreign(path: Path) -> bool:
    """Whether `path` is a healthy SQLite database whose tables are none of ours: another
    program's, which opening it as a catalog would change (WAL mode, our tables).
    A short wait: a file locked this long is looked at again by `_damage` and the open."""
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.Error:
        return False  # absent, damaged or locked: `_damage` and the open itself say so
    return bool(tables) and not tables & Base.metadata.tables.keys()


def _stored_version(path: Path) -> int | None:
    """The schema version a catalog file records, read without writing anything; None if unreadable.

    Read before the open writes anything (the health check's time stamp, WAL mode,
    tables): a catalog of a newer Lookalike is refused untouched. `immutable`: even a
    read-only connection would create the -wal and -shm files beside it; one that a
    running writer has not checkpointed yet is caught by `_migrate`'s check instead.
    """
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, timeout=1)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        finally:
            db.close()
        return int(row[0]) if row else None
    except (sqlite3.Error, ValueError):
        return None  # absent, empty, damaged, locked or not ours: the checks that follow say so


def _newer_message(location: Path | str, version: int) -> str:
    return (
        f"{location} was written by a newer Lookalike (schema {version}, this version reads up to "
        f"{SCHEMA_VERSION}); it was left untouched"
    )


def _looks_like_a_catalog(path: Path) -> bool:
    """Whether a damaged file is ours to set aside: a SQLite file, a file named like a
    catalog, or one holding our schema's text (a catalog whose header was overwritten)."""
    with path.open("rb") as handle:
        start = handle.read(64 * 1024)
    return start.startswith(_SQLITE_MAGIC) or path.suffix.lower() in _CATALOG_SUFFIXES or _SCHEMA_MARK in start


#: SQLite's primary result codes for a failed write (extended codes keep them in the low byte).
_SQLITE_IOERR, _SQLITE_FULL = 10, 13


def _disk_failure(exc: OperationalError, folder: Path) -> str | None:
    """"the disk is full" or "the disk failed (...)" for SQLite's write failures, else None.

    SQLite reports a full disk as an I/O error when it cannot grow its shared-memory
    file, so an I/O error on a disk with (almost) no space left is called full.
    """
    code = getattr(exc.orig, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    message = str(exc.orig)
    full = primary == _SQLITE_FULL or "database or disk is full" in message
    if not full and (primary == _SQLITE_IOERR or "disk I/O error" in message):
        if not nearly_full(folder):
            return f"the disk failed ({message})"
        full = True
    return "the disk is full" if full else None


def nearly_full(folder: Path) -> bool:
    """Whether the disk holding `folder` has under 1 MiB free: why a write there most likely failed."""
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False


def _os_reason(exc: OSError) -> str:
    """`[Errno 2] No such file or directory: '/proc/x'` as `/proc/x: no such file or directory`.

    mkdir(exist_ok=True) raises FileExistsError only for a file where a folder must be.
    """
    reason = "not a directory" if isinstance(exc, FileExistsError) else (exc.strerror or str(exc)).lower()
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _header_looks_wrong(header: bytes, size: int) -> bool:
    """A cheap look at the SQLite header: its magic, and whether the file holds all its pages.

    Only a reason to run the full check, never a verdict: another process's
    checkpoint may have written page 1 before growing the file.
    """
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        return True
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[92:96] == header[24:28]  # the page count is kept up to date since SQLite 3.7
    return valid and pages * page_size > size


def _check(db: sqlite3.Connection, size: int, full: bool) -> list[str]:
    """quick_check's complaints; a big catalog checked in the last day only has its schema read."""
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads the schema pages
    if not full and size > FULL_CHECK_BYTES and time.time() - _checked_at(db) < FULL_CHECK_EVERY:
        return []
    problems = [str(row[0]) for row in db.execute("PRAGMA quick_check") if row[0] != "ok"]
    if not problems:
        try:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('checked_at', ?)", (str(time.time()),))
            db.commit()
        except sqlite3.OperationalError:
            pass  # busy, read-only or not a catalog yet: checked again next time
    return problems


def _checked_at(db: sqlite3.Connection) -> float:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'checked_at'").fetchone()
        return float(row[0]) if row else 0.0
    except (sqlite3.OperationalError, ValueError):
        return 0.0


def _set_aside(path: Path) -> Path:
    """Rename a damaged catalog (and its WAL and shared memory) to `<name>.corrupt-<time>`."""
    backup = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    number = 1
    while backup.exists():
        number += 1
        backup = backup.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{number}")
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.replace(backup.with_name(backup.name + suffix))
    path.replace(backup)
    return backup


def same_size_statement() -> Select:
    """The query of `Catalog.same_size_files`. Its ok rows are counted by CASE, not
    filtered by WHERE: the planner then groups over the (size, status, partial_hash)
    index alone, where a status filter sent it through every ok row of the table."""
    ok = File.status == "ok"
    files, hashes = func.count(case((ok, 1))), case((ok, File.partial_hash))
    shared = or_(func.count(hashes) < files, func.count(hashes.distinct()) < files)
    sizes = select(File.size).group_by(File.size).having(files > 1, shared)
    return (
        select(File.id, File.path, File.size, File.mtime_ns, File.partial_hash, File.full_hash)
        .where(ok, File.size.in_(sizes))
        .order_by(File.size, File.id)
    )


@cache
def _sqlite_has_json() -> bool:
    """Whether SQLite has `json_each`: built in from 3.38, compiled in by most builds before."""
    try:
        with closing(sqlite3.connect(":memory:")) as probe:
            probe.execute("SELECT count(*) FROM json_each('[1]')").fetchall()
        return True
    except sqlite3.OperationalError:
        return False


def _ascending(ids: Sequence[int]) -> list[int]:
    """`ids` without repeats, in ascending order: looked up in id order, a table's pages are
    read once each, where ids in any order read a 64 KB page a row (the sizes of a million
    photos' 255k grouped files: 3x faster)."""
    return sorted({int(i) for i in ids})


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    """`_ascending(ids)`, _CHUNK at a time."""
    ordered = _ascending(ids)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def _row(record: FileRecord) -> dict[str, object]:
    loc = record.location
    row: dict[str, object] = {} if record.same_content and not record.full_hash else {"full_hash": record.full_hash}
    return row | {
        "path": loc.path, "root_id": loc.root_id, "size": loc.size, "mtime_ns": loc.mtime_ns,
        "inode": loc.inode, "device": loc.device, "partial_hash": record.partial_hash,
        "width": record.width, "height": record.height, "format": record.format,
        "taken_at": record.taken_at, "captured": record.captured, "camera": record.camera, "has_gps": record.has_gps, "grey": record.grey,
        **(asdict(record.shot) if record.shot is not None else {"sharpness": None, "highlights": None, "shadows": None, "brightness": None}),
        "status": "error" if record.error is not None else "ok", "error": record.error,
        "scanned_at": time.time(),
    }
