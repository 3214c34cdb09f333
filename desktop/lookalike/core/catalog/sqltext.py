"""Let SQLite store any Python string, including file names that are not valid UTF-8.

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
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

_NEEDS_ESCAPE = re.compile("[\x00\ud800-\udfff]")
_ESCAPED = re.compile("\x00([0-9a-f]{4})")


def escape(text: str) -> str:
    """`text` in a form sqlite3 accepts and `unescape` reverses (ordinary text unchanged)."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return _NEEDS_ESCAPE.sub(lambda m: f"\x00{ord(m.group()):04x}", text)


def unescape(text: str) -> str:
    """The inverse of `escape`."""
    if "\x00" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def _read_text(raw: bytes) -> str:
    return unescape(raw.decode("utf-8", "surrogateescape"))


def install(dbapi_connection: sqlite3.Connection) -> None:
    """Make one sqlite3 connection hand back unescaped text."""
    dbapi_connection.text_factory = _read_text


def escape_parameters(parameters: Any) -> Any:
    """Statement parameters with every string escaped: one row (tuple or dict) or a list of rows.

    SQLAlchemy passes single rows, lists of rows (executemany) and, for its
    batched "insertmanyvalues", one flat row flagged as many; all are handled by shape.
    """
    if isinstance(parameters, str):
        return escape(parameters)
    if isinstance(parameters, dict):
        return {key: escape_parameters(value) for key, value in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        return type(parameters)(escape_parameters(value) for value in parameters)
    return parameters
