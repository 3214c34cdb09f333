"""The catalog's tables (SQLAlchemy 2 declarative). Bump SCHEMA_VERSION with a migration."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: 1: first release; 2: files.grey; 3: signatures.detail, files.captured and the shot
#: measures files.sharpness/highlights/shadows/brightness; 4: int8 vectors and compressed
#: detail thumbnails (core/catalog/blobs.py); 5: files indexed by (size, status,
#: partial_hash) instead of size alone; 6: no detail thumbnails, made from the files
#: when a proof needs them (core/matching/evidence.py) (see catalog.MIGRATIONS).
SCHEMA_VERSION = 6


class Base(DeclarativeBase):
    pass


#: Sizes, nanosecond times, inodes and devices: 64-bit on PostgreSQL (its INTEGER is 32-bit);
#: SQLite's INTEGER already holds 64 bits, and its catalogs keep their DDL.
Int64 = BigInteger().with_variant(Integer(), "sqlite")
#: Paths compare by code point on every server, as in SQLite: `Catalog.known_files`' prefix
#: ranges and every "by path" order rely on it, and a server's locale collation would break both.
PathText = Text().with_variant(Text(collation="C"), "postgresql")


class Meta(Base):
    """Key/value facts about the catalog itself (schema version, ...)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Root(Base):
    """A folder the user asked to scan."""

    __tablename__ = "roots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(PathText, unique=True)
    added_at: Mapped[float] = mapped_column(Float)
    last_scan_at: Mapped[float | None] = mapped_column(Float, default=None)


class File(Base):
    """One photo file as last seen on disk; `status` is ok, error or missing."""

    __tablename__ = "files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[int | None] = mapped_column(ForeignKey("roots.id", ondelete="SET NULL"), index=True)
    path: Mapped[str] = mapped_column(PathText, unique=True)
    size: Mapped[int] = mapped_column(Int64)
    mtime_ns: Mapped[int] = mapped_column(Int64)
    inode: Mapped[int | None] = mapped_column(Int64, default=None)
    device: Mapped[int | None] = mapped_column(Int64, default=None)
    partial_hash: Mapped[str | None] = mapped_column(String, default=None)
    full_hash: Mapped[str | None] = mapped_column(String, default=None, index=True)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    format: Mapped[str | None] = mapped_column(String, default=None)
    taken_at: Mapped[str | None] = mapped_column(String, default=None)
    #: EXIF DateTimeOriginal with subseconds (images.ImageInfo.captured); None before schema 3.
    captured: Mapped[str | None] = mapped_column(String, default=None)
    camera: Mapped[str | None] = mapped_column(String, default=None)
    has_gps: Mapped[bool] = mapped_column(default=False)
    grey: Mapped[bool] = mapped_column(default=False)
    # How good a shot it is (core/shot.py), for the burst tier's keeper; None before schema 3.
    sharpness: Mapped[float | None] = mapped_column(Float, default=None)
    highlights: Mapped[float | None] = mapped_column(Float, default=None)
    shadows: Mapped[float | None] = mapped_column(Float, default=None)
    brightness: Mapped[float | None] = mapped_column(Float, default=None)
    status: Mapped[str] = mapped_column(String, default="ok", index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    scanned_at: Mapped[float | None] = mapped_column(Float, default=None)

    #: With status and partial hash, the search for identical files (`Catalog.same_size_files`)
    #: reads this index alone: at a million photos 0.17 s instead of 0.63 s through the
    #: table, for 19 MB more than size alone. (Status leading would serve that query too,
    #: but joins filtering on status would then visit rows in size order, not id order:
    #: the catalog token took 8 s instead of 0.2 s.)
    __table_args__ = (Index("ix_files_size_status", "size", "status", "partial_hash"),)


class Embedding(Base):
    """One vector per file per model, stored as int8 scaled per row (core/catalog/blobs.py)."""

    __tablename__ = "embeddings"
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[str] = mapped_column(String, primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class Decision(Base):
    """A remembered verdict on a pair: "not a duplicate" / "not similar" (file_a < file_b), or a
    person's "keep this one" (kind "keep": file_a kept over file_b; see core/decisions.py)."""

    __tablename__ = "decisions"
    file_a: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    file_b: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String, primary_key=True)  # not_duplicate | not_similar | keep
    created_at: Mapped[float] = mapped_column(Float)


class Batch(Base):
    """One deletion action the user took; undo works batch by batch."""

    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)
    mode: Mapped[str] = mapped_column(String)  # trash | quarantine | permanent
    target: Mapped[str | None] = mapped_column(Text, default=None)  # quarantine folder
    status: Mapped[str] = mapped_column(String, default="open")  # open | done | undone
    undone_at: Mapped[float | None] = mapped_column(Float, default=None)


class JournalEntry(Base):
    """One file of a batch, written before the file is touched so a crash stays truthful."""

    __tablename__ = "journal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int | None] = mapped_column(Integer, default=None)
    source: Mapped[str] = mapped_column(Text)
    destination: Mapped[str | None] = mapped_column(Text, default=None)
    size: Mapped[int] = mapped_column(Int64)
    mtime_ns: Mapped[int] = mapped_column(Int64)
    content_hash: Mapped[str | None] = mapped_column(String, default=None)
    state: Mapped[str] = mapped_column(String, default="planned")  # planned|done|skipped|restored|failed
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[float] = mapped_column(Float)


class Signature(Base):
    """A photo's 32x32 greyscale thumbnail (core/structure.py): model-independent.

    Its own table so that file queries never drag its 1 KB per row along.
    """

    __tablename__ = "signatures"
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    #: The file ids alone, for counting the signatures (the graph's token, at every open):
    #: SQLite otherwise walks the table itself, a 4 KB page a row, 3.9 s for a million
    #: photos read cold against 0.15 s here (~12 MB). On a server it repeats the key's own.
    __table_args__ = (Index("ix_signatures_file", "file_id"),)
