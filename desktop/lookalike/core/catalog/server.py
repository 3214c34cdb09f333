"""A catalog kept on a PostgreSQL server (`postgresql://user:pass@host/db`) rather than in a file.

Several people can then review one library from several machines. What the
SQLite catalog keeps beside its file lives elsewhere here:

- locks (one scan, one deletion at a time) are session advisory locks on the
  server, held by a connection of their own: the server drops them when that
  connection ends, however its process ends, as the operating system does for
  the SQLite catalog's lock files;
- the vector index, the k-NN graph, the projection and the map are files each
  machine derives from the catalog; they go to a cache folder per catalog under
  the user cache dir, named by a hash of the URL without its password;
- a password never appears in a message: `shown_url` hides it and `scrubbed`
  takes it out of any error text a driver might echo.

psycopg 3 is imported only when such a catalog is opened: it is the optional
extra `postgres`.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
from sqlalchemy.engine import URL, Connection, Engine, make_url

from lookalike.core.catalog import sqltext

#: What a catalog location given as text starts with when it names a server.
SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")
#: The first key of every advisory lock Lookalike takes ("LK"): other programs sharing the
#: database use their own; the second key names the lock (`lock_key`).
_LOCK_CLASS = 0x4C4B
#: SQLSTATE of a server that cannot write: disk full, out of memory, too many connections.
DISK_FULL = "53100"


class ServerMissing(Exception):
    """psycopg is not installed: the `postgres` extra is needed for a server catalog."""


def is_url(location: object) -> bool:
    """Whether a catalog location names a PostgreSQL server rather than a file."""
    return isinstance(location, str) and location.strip().lower().startswith(SCHEMES)


def parse(location: str) -> URL:
    """The SQLAlchemy URL for psycopg 3, whatever PostgreSQL scheme the person typed."""
    url = make_url(location.strip())
    return url.set(drivername="postgresql+psycopg")


def shown_url(url: URL) -> str:
    """The URL as messages and `stats` show it: the password hidden, the scheme as typed by most."""
    return url.set(drivername="postgresql").render_as_string(hide_password=True)


def scrubbed(text: str, url: URL) -> str:
    """`text` with the URL's password (and the full URL) replaced: drivers may echo either."""
    if url.password:
        text = text.replace(url.render_as_string(hide_password=False), shown_url(url))
        text = text.replace(str(url.password), "***")
    return text


def cache_folder(url: URL) -> Path:
    """Where this machine keeps the files it derives from the catalog at `url` (index, graph, map).

    Keyed by the URL without its password, so that changing a password keeps the cache
    and two databases (or servers) never share one.
    """
    key = url._replace(drivername="postgresql", password=None).render_as_string(hide_password=False)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir("lookalike", appauthor=False)) / "catalogs" / digest


def lock_key(name: str) -> int:
    """The second key of the advisory lock called `name` (a stable positive int4)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


@contextmanager
def advisory_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Try the advisory lock `name` once; yields whether it is held (until the block ends).

    A connection of its own holds it, so that the transactions of the locked block
    (committed and rolled back as usual) do not release it.
    """
    with engine.connect() as connection:
        held = bool(connection.exec_driver_sql(
            "SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_CLASS, lock_key(name))
        ).scalar())
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.exec_driver_sql("SELECT pg_advisory_unlock(%s, %s)", (_LOCK_CLASS, lock_key(name)))
                connection.commit()


def lock_holder(engine: Engine, name: str) -> int | None:
    """The pid of the Lookalike process holding the lock `name`, from its connection's
    application name (`application_name`); None when unknown (another machine's name is kept)."""
    with engine.connect() as connection:
        label = connection.exec_driver_sql(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s",
            (_LOCK_CLASS, lock_key(name)),
        ).scalar()
    digits = (label or "").rpartition(" ")[2]
    return int(digits) if digits.isdigit() else None


def application_name(pid: int) -> str:
    """What the server lists for our connections (and `lock_holder` reads back)."""
    return f"lookalike {pid}"


def install_text_loader(dbapi_connection: object) -> None:
    """Make one psycopg connection hand back file names unescaped (core/catalog/sqltext.py)."""
    try:
        from psycopg.types.string import TextLoader
    except ImportError as exc:  # pragma: no cover - the engine could not have connected
        raise ServerMissing(str(exc)) from exc

    class Unescaping(TextLoader):
        def load(self, data):  # type: ignore[no-untyped-def]
            value = super().load(data)
            return sqltext.unescape(value, sqltext.SERVER) if isinstance(value, str) else value

    for name in ("text", "varchar"):
        dbapi_connection.adapters.register_loader(name, Unescaping)  # type: ignore[attr-defined]


def serialise(connection: Connection, name: str) -> None:
    """Wait for the transaction-scoped advisory lock `name`: creating or upgrading the tables
    one opener at a time (PostgreSQL's CREATE ... IF NOT EXISTS can race on its own rows)."""
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, lock_key(name)))
