"""Looking into a catalog that another process is writing, without disturbing it."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def committed_vectors(catalog: Path) -> int:
    """Vectors committed so far (read-only; 0 before the catalog exists)."""
    try:
        db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0  # not created yet
