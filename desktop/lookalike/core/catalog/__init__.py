"""The catalog: one SQLite (SQLAlchemy) file per library holding files, vectors,
signatures, decisions and the removal journal, with its schema and locking."""
