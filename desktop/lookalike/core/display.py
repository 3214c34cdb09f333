"""File names as text a person reads: shown safely, never able to forge a line.

A file name may hold any byte but "/" and NUL: a newline followed by
"  keep  FAKE.jpg" would print a line of its own in a plan, an escape sequence
would recolour or rewrite the terminal, a bidi override would turn the name
around. Every text listing (CLI tables and lines, the app's labels and tooltips)
shows names through `shown`; JSON, CSV and the catalog keep the exact name.
"""

from __future__ import annotations

import re

#: What is escaped: C0 and C1 controls and DEL; line and paragraph separators;
#: bidirectional embeddings, overrides and isolates; lone surrogates (undecodable bytes).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _SHORT:
        return _SHORT[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def shown(text: object) -> str:
    """`text` on one line with nothing that acts on a terminal: controls as \\n, \\x1b...,
    undecodable bytes marked as \\xNN, separators and bidi controls as \\uXXXX."""
    return _UNSAFE.sub(_escape, str(text))
