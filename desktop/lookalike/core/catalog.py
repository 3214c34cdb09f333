"""The SQLite catalog: opening it safely (WAL, schema version, migrations) and its queries."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from lookalike.core.schema import SCHEMA_VERSION, Base, Embedding, File, Meta

#: version -> function upgrading a catalog from that version to the next.
MIGRATIONS: dict[int, object] = {}


class CatalogError(Exception):
    """The catalog file cannot be opened or is newer than this version of Lookalike."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Catalog:
    """One catalog file. Thread-safe for readers; writes go through one writer at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser().resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(f"sqlite:///{self.path}")
        event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrate()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def index_path(self, model_id: str) -> Path:
        """Where the vector index for `model_id` is kept, beside the catalog."""
        safe = "".join(c if c.isalnum() else "_" for c in model_id)
        return self.path.with_name(f"{self.path.stem}.{safe}.usearch")

    def _migrate(self) -> None:
        Base.metadata.create_all(self.engine)
        with self.session() as session:
            row = session.get(Meta, "schema_version")
            version = int(row.value) if row else SCHEMA_VERSION
            if version > SCHEMA_VERSION:
                raise CatalogError(
                    f"{self.path} was written by a newer Lookalike (schema {version}, "
                    f"this version reads up to {SCHEMA_VERSION})"
                )
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](session)  # type: ignore[operator]
                version += 1
            session.merge(Meta(key="schema_version", value=str(version)))
            session.merge(Meta(key="opened_at", value=str(time.time())))

    # --- vectors ---------------------------------------------------------------

    def vectors(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(file ids, float32 unit vectors) of every present file embedded with `model_id`."""
        stmt = (
            select(Embedding.file_id, Embedding.vector)
            .join(File, File.id == Embedding.file_id)
            .where(Embedding.model_id == model_id, File.status == "ok")
            .order_by(Embedding.file_id)
        )
        with self.session() as session:
            rows = session.execute(stmt).all()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16)
        return ids, matrix.reshape(len(rows), -1).astype(np.float32)

    def files(self, ids: Sequence[int]) -> dict[int, File]:
        """File rows by id (detached, read-only use)."""
        out: dict[int, File] = {}
        with self.session() as session:
            for start in range(0, len(ids), 900):
                chunk = [int(i) for i in ids[start : start + 900]]
                for row in session.scalars(select(File).where(File.id.in_(chunk))):
                    out[row.id] = row
        return out


def pack_vector(vector: np.ndarray) -> bytes:
    """A unit vector as the compact blob stored in `embeddings.vector`."""
    return np.asarray(vector, dtype=np.float16).tobytes()
