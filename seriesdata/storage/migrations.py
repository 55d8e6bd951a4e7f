"""Numbered schema migrations, applied in order on every open and recorded in `schema_migrations`.

Each step is plain SQL, written once and never edited after release: the models in `models.py` may grow,
but a database written by any earlier version must still migrate forward step by step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from seriesdata.errors import DatabaseError

Migration = Callable[[sqlite3.Connection], None]


def m001_initial(conn: sqlite3.Connection) -> None:
    item_state = """
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_attempt_at TEXT,
        next_attempt_at TEXT,
        not_found_at TEXT,
        removed_upstream_at TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
    """
    execute_script(
        conn,
        f"""
        CREATE TABLE series (
            id INTEGER PRIMARY KEY,
            tvdb_id INTEGER NOT NULL UNIQUE,
            name TEXT, overview TEXT, status TEXT, first_aired TEXT, year INTEGER,
            original_language TEXT, image_url TEXT,
            data_last_updated_at TEXT,
            tvmaze_id INTEGER, url TEXT, translations TEXT,
            {item_state}
        );
        CREATE TABLE episodes (
            id INTEGER PRIMARY KEY,
            series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
            tvdb_id INTEGER,
            season_number INTEGER, number INTEGER,
            name TEXT, overview TEXT, aired TEXT, runtime INTEGER, image_url TEXT,
            data_last_updated_at TEXT,
            tvmaze_id INTEGER, url TEXT, translations TEXT,
            {item_state}
        );
        CREATE TABLE job_logs (
            id INTEGER PRIMARY KEY,
            job_class TEXT NOT NULL,
            status TEXT NOT NULL,
            message TEXT,
            context TEXT,
            exception TEXT,
            loggable_type TEXT,
            loggable_id INTEGER,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            duration_seconds REAL,
            run_id INTEGER,
            pid INTEGER
        );
        CREATE TABLE provider_state (
            provider TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT,
            PRIMARY KEY (provider, key)
        );
        CREATE TABLE api_requests (provider TEXT NOT NULL, at REAL NOT NULL);

        -- The missing-data scan walks these partial indexes: they hold only the rows that still need
        -- data, so selecting a batch and counting what remains stay fast on millions of rows.
        CREATE INDEX series_missing ON series (attempts, id) WHERE data_last_updated_at IS NULL;
        CREATE INDEX series_missing_next ON series (next_attempt_at)
            WHERE data_last_updated_at IS NULL;
        CREATE INDEX series_updated ON series (data_last_updated_at);
        CREATE INDEX series_tvmaze ON series (tvmaze_id) WHERE tvmaze_id IS NOT NULL;

        CREATE UNIQUE INDEX episodes_slot ON episodes (series_id, season_number, number);
        CREATE UNIQUE INDEX episodes_tvdb ON episodes (tvdb_id) WHERE tvdb_id IS NOT NULL;
        CREATE INDEX episodes_tvmaze ON episodes (tvmaze_id) WHERE tvmaze_id IS NOT NULL;
        CREATE INDEX episodes_missing ON episodes (attempts, id) WHERE data_last_updated_at IS NULL;
        CREATE INDEX episodes_missing_next ON episodes (next_attempt_at)
            WHERE data_last_updated_at IS NULL;
        CREATE INDEX episodes_updated ON episodes (data_last_updated_at);

        CREATE INDEX job_logs_job ON job_logs (job_class, id);
        CREATE INDEX job_logs_run ON job_logs (run_id);
        CREATE INDEX job_logs_item ON job_logs (loggable_type, loggable_id);
        CREATE INDEX job_logs_created ON job_logs (created_at);
        CREATE INDEX api_requests_at ON api_requests (provider, at);
        """,
    )


def m002_upstream_changes(conn: sqlite3.Connection) -> None:
    """`check-updates`: when a change feed last said a series changed upstream (UTC text).

    An item is refreshed when its series changed at or after its own `data_last_updated_at`; the stale
    scan walks `*_updated` in data order and needs this column only for the rows it meets.
    """
    execute_script(
        conn,
        """
        ALTER TABLE series ADD COLUMN upstream_changed_at TEXT;
        CREATE INDEX series_removed ON series (removed_upstream_at) WHERE removed_upstream_at IS NOT NULL;
        CREATE INDEX episodes_removed ON episodes (removed_upstream_at)
            WHERE removed_upstream_at IS NOT NULL;
        """,
    )


def m003_job_logs_by_run(conn: sqlite3.Connection) -> None:
    """`logs`: newest run first, each run's row above its own item rows, without sorting the table.

    A run row is written when the run starts, so by id alone it sorts below its items.
    """
    execute_script(
        conn,
        """
        CREATE INDEX job_logs_by_run ON job_logs (coalesce(run_id, id) DESC, run_id IS NOT NULL, id DESC)
        """,
    )


MIGRATIONS: list[Migration] = [m001_initial, m002_upstream_changes, m003_job_logs_by_run]


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run `;`-separated statements inside the caller's transaction.

    (sqlite3's executescript() would COMMIT first, taking the step out of its transaction.)
    """
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every step the file has not seen yet, each in its own IMMEDIATE transaction."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied: list[str] = []
    for number, step in enumerate(MIGRATIONS, start=1):
        if _applied(conn, number):
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not _applied(conn, number):  # another process may have applied it meanwhile
                step(conn)
                conn.execute(
                    "INSERT INTO schema_migrations (id, name, applied_at)"
                    " VALUES (?, ?, strftime('%Y-%m-%d %H:%M:%S', 'now'))",
                    (number, step.__name__),
                )
                applied.append(step.__name__)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    newest = conn.execute("SELECT max(id) FROM schema_migrations").fetchone()[0] or 0
    if newest > len(MIGRATIONS):
        raise DatabaseError(
            f"the database has schema version {newest}, newer than this seriesdata knows "
            f"({len(MIGRATIONS)}): upgrade seriesdata"
        )
    return applied


def _applied(conn: sqlite3.Connection, number: int) -> bool:
    row = conn.execute("SELECT 1 FROM schema_migrations WHERE id = ?", (number,)).fetchone()
    return row is not None
