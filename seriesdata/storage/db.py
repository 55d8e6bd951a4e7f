"""Opening the database: check the file is ours to open, set the pragmas, migrate forward."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import peewee
from peewee import SqliteDatabase

from seriesdata.errors import DatabaseError, UsageError
from seriesdata.storage.migrations import migrate
from seriesdata.storage.models import db

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_SECONDS = 15.0


def check_path(path: Path) -> None:
    """Refuse, before SQLite touches it, a path that cannot be or is not a SQLite database."""
    if path.is_dir():
        raise UsageError(f"{path} is a directory, not a database file")
    if not path.parent.is_dir():
        raise UsageError(f"directory {path.parent} does not exist")
    if not path.exists():
        return
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    if header and header != SQLITE_HEADER:
        raise UsageError(f"{path} is not a SQLite database (left untouched)")
    if header and not _is_ours(path):
        raise UsageError(f"{path} is another program's SQLite database, not seriesdata's (left untouched)")


def _is_ours(path: Path) -> bool:
    """True for an empty database or one with our `schema_migrations`: never add tables to a stranger's."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return True  # let the real open report what is wrong
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error:
        return True
    finally:
        conn.close()
    return not tables or "schema_migrations" in tables


def open_database(path: Path, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> SqliteDatabase:
    """Initialise the shared `db` on `path` and bring its schema up to date."""
    path = path.expanduser()
    check_path(path)
    if not db.is_closed():
        db.close()
    db.init(
        str(path),
        pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            "synchronous": "normal",  # safe with WAL: a crash loses no committed transaction's consistency
            "cache_size": -16000,
        },
        timeout=busy_timeout,  # type: ignore[arg-type]  # sqlite3 takes fractions of a second
    )
    try:
        db.connect(reuse_if_open=True)
        migrate(db.connection())
    except (sqlite3.DatabaseError, peewee.DatabaseError) as error:
        db.close()
        raise translate(error, path) from None
    except DatabaseError:
        db.close()
        raise
    return db


def close_database() -> None:
    if db.database and not db.is_closed():
        db.close()


def translate(error: Exception, path: Path | str) -> DatabaseError | UsageError:
    """A one-line message for SQLite's errors (peewee re-raises them under its own class names)."""
    text = str(error).lower()
    if "not a database" in text or "malformed" in text:
        return UsageError(f"{path} is not a SQLite database or is damaged (left untouched)")
    if "readonly" in text or "read-only" in text:
        return DatabaseError(f"{path} is read-only: cannot write to it")
    if "locked" in text or "busy" in text:
        return DatabaseError(f"{path} is locked by another writer (waited {db.timeout:g} s); try again")
    if "unable to open" in text:
        return DatabaseError(f"cannot open {path}: check the path and its permissions")
    return DatabaseError(f"database error on {path}: {error}")
