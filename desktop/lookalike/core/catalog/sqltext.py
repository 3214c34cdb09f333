"""Let the catalog store any Python string, including file names that are not valid UTF-8.

On POSIX a file name is bytes; Python hands names that are not UTF-8 over as
strings with lone surrogates ("caf\\udce9.jpg" for b"caf\\xe9.jpg"), and
sqlite3 refuses to bind those ("surrogates not allowed"): one such photo used
to abort the whole batch it was written in. Windows names can hold lone
surrogates too.

Such strings are stored escaped, reversibly: each surrogate becomes NUL plus its
four hex digits, and a NUL itself becomes NUL "0000". A file name never holds
NUL, so ordinary names are stored unchanged, an escaped one cannot be mistaken
for a real name, and escaping one character at a time keeps the "every path
under this folder" prefix ranges of the catalog working. Reads undo the escape,
so every caller (deletion, undo, the UI) gets the real path back, unchanged.

PostgreSQL text holds no NUL at all, so a server catalog (core/catalog/server.py)
marks with U+FFFF instead, a noncharacter, escaping NUL and U+FFFF themselves the
same way: `SERVER`. SQLite keeps `LOCAL`, so existing catalogs read as before.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Escaping:
    """One way of escaping: the characters to escape and the marker that starts an escape."""

    marker: str
    needs: re.Pattern[str]
    escaped: re.Pattern[str]


LOCAL = Escaping("\x00", re.compile("[\x00\ud800-\udfff]"), re.compile("\x00([0-9a-f]{4})"))
SERVER = Escaping("\uffff", re.compile("[\x00\ud800-\udfff\uffff]"), re.compile("\uffff([0-9a-f]{4})"))


def escape(text: str, how: Escaping = LOCAL) -> str:
    """`text` in a form the database accepts and `unescape` reverses (ordinary text unchanged)."""
    if how.needs.search(text) is None:
        return text
    return how.needs.sub(lambda m: f"{how.marker}{ord(m.group()):04x}", text)


def unescape(text: str, how: Escaping = LOCAL) -> str:
    """The inverse of `escape`."""
    if how.marker not in text:
        return text
    return how.escaped.sub(lambda m: chr(int(m.group(1), 16)), text)


def _read_text(raw: bytes) -> str:
    return unescape(raw.decode("utf-8", "surrogateescape"))


def install(dbapi_connection: sqlite3.Connection) -> None:
    """Make one sqlite3 connection hand back unescaped text."""
    dbapi_connection.text_factory = _read_text


def escape_parameters(parameters: Any, how: Escaping = LOCAL) -> Any:
    """Statement parameters with every string escaped: one row (tuple or dict) or a list of rows.

    SQLAlchemy passes single rows, lists of rows (executemany) and, for its
    batched "insertmanyvalues", one flat row flagged as many; all are handled by shape.
    """
    if isinstance(parameters, str):
        return escape(parameters, how)
    if isinstance(parameters, dict):
        return {key: escape_parameters(value, how) for key, value in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        if not any(isinstance(value, _CONTAINERS) for value in parameters):
            return parameters  # a row of numbers (ids looked up in bulk): nothing to copy
        return type(parameters)(escape_parameters(value, how) for value in parameters)
    return parameters


#: Parameter values that may hold a string.
_CONTAINERS = (str, dict, list, tuple)
