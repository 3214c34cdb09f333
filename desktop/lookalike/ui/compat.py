"""Work around PySide6 6.12's reference-counting bug, which aborts Python 3.11 within seconds.

PySide6 6.12.0 returns None (from every void method: `setText`, `update`,
`processEvents`...) and True/False (from `Signal.emit`) without a new reference.
Python 3.12+ never frees those singletons (they are immortal), so the bug goes
unnoticed there; on 3.11 each call drops one reference and after a few thousand
calls the interpreter aborts with "none_dealloc" or "bool_dealloc".

The fix makes the three singletons as good as immortal, as 3.12 does: when one
probing call shows the leak, their reference counts are raised by 2**40, far
more than any session can drop. They are never freed in any case, so nothing
else changes. Remove this module once the project requires a PySide6 without
the bug or Python 3.12+.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject

#: Raised reference count margin: a trillion leaked calls before it matters.
MARGIN = 1 << 40


def _void_call_leaks() -> bool:
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before


def _immortalize(*objects: object) -> None:
    for obj in objects:
        refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field of every object
        refcount.value += MARGIN


def _install() -> bool:
    if sys.version_info >= (3, 12) or not _void_call_leaks():
        return False
    _immortalize(None, True, False)
    return True


#: True when the installed PySide6 has the bug and the workaround is active.
PATCHED = _install()
