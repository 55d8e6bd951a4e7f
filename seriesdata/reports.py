"""What `status`, `list` and `logs` show: read-only queries over the catalogue and `job_logs`.

The CLI only formats these dicts. Every count here is backed by an index (the partial "missing" indexes,
`*_updated`, `job_logs_job`), so `status` stays quick on a catalogue of millions of episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from seriesdata.jobs.definitions import IMPORT_MISSING
from seriesdata.jobs.updates import JOBS as UPDATE_JOBS
from seriesdata.jobs.updates import default_hours
from seriesdata.storage import catalogue
from seriesdata.storage.catalogue import EPISODES, SERIES, Entity, ts
from seriesdata.storage.models import db

ENTITIES = {"series": SERIES, "episodes": EPISODES}
# "Stale" means what `check-updates` would refresh with its default --hours (SPEC §2: 24 h, 48 h).
STALE_AFTER = {name: timedelta(hours=default_hours(name)) for name in ENTITIES}
# The run rows' job_class values of SPEC §2.
RUN_JOBS = (
    *(job.job_class for job in IMPORT_MISSING.values()),
    *(check_updates[0] for check_updates in UPDATE_JOBS.values()),
)
ITEM_JOBS = tuple(dict.fromkeys(job.item_class for job in IMPORT_MISSING.values()))
LOG_STATUSES = ("started", "success", "partial", "failed", "skipped")
LOG_COLUMNS = (
    "id", "job_class", "status", "message", "context", "exception", "loggable_type", "loggable_id",
    "created_at", "finished_at", "duration_seconds", "run_id", "pid",
)  # fmt: skip


# --- status --------------------------------------------------------------------------------------


def entity_counts(entity: Entity, now: datetime) -> dict[str, int]:
    """total, imported, remaining, deferred, not_found, failed, stale, removed_upstream of one table."""
    table = entity.table
    remaining, deferred = catalogue.missing_counts(entity, now)

    def count(where: str, *params: Any) -> int:
        return int(db.execute_sql(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()[0])

    total = count("1")
    missing = count("data_last_updated_at IS NULL")
    return {
        "total": total,
        "imported": total - missing,
        "remaining": remaining,
        "deferred": deferred,
        "not_found": count("data_last_updated_at IS NULL AND not_found_at IS NOT NULL"),
        "failed": count("data_last_updated_at IS NULL AND attempts > 0"),
        "stale": count("data_last_updated_at < ?", ts(now - STALE_AFTER[entity.noun])),
        "removed_upstream": count("removed_upstream_at IS NOT NULL"),
    }


def last_runs(db_path: Path) -> list[dict[str, Any]]:
    """The newest run row of each job, newest first; a `started` row nobody runs reads `interrupted`."""
    runs = []
    for job in RUN_JOBS:
        row = db.execute_sql(
            "SELECT id, job_class, status, created_at, finished_at, duration_seconds, message"
            " FROM job_logs WHERE job_class = ? AND loggable_type IS NULL ORDER BY id DESC LIMIT 1",
            (job,),
        ).fetchone()
        if row is None:
            continue
        run = dict(zip(("id", "job", "status", "created_at", "finished_at", "duration_seconds",
                        "message"), row, strict=True))  # fmt: skip
        if run["status"] == "started":
            run["status"] = "running" if _running(db_path, job) else "interrupted"
        runs.append(run)
    return sorted(runs, key=lambda run: run["created_at"], reverse=True)


def _running(db_path: Path, job_class: str) -> bool:
    from seriesdata.jobs.lock import JobLock

    return JobLock(db_path, job_class).is_held_elsewhere()


def status_report(db_path: Path, provider: str, now: datetime) -> dict[str, Any]:
    """The whole `status --json` object (SPEC §3)."""
    return {
        "db": str(db_path),
        "provider": provider,
        **{name: entity_counts(entity, now) for name, entity in ENTITIES.items()},
        "last_runs": last_runs(db_path),
    }


# --- list ----------------------------------------------------------------------------------------

FILTERS = {
    None: "1",
    "missing": "{a}.data_last_updated_at IS NULL",
    "imported": "{a}.data_last_updated_at IS NOT NULL",
    "failed": "{a}.data_last_updated_at IS NULL AND {a}.attempts > 0",
    "removed": "{a}.removed_upstream_at IS NOT NULL",
}
_BOOKKEEPING = (
    "{a}.data_last_updated_at, {a}.attempts, {a}.last_error, {a}.last_attempt_at, {a}.next_attempt_at,"
    " {a}.not_found_at, {a}.removed_upstream_at"
)
# (columns, FROM clause) per entity
LIST_SQL = {
    "series": (
        "s.id, s.tvdb_id, s.name, s.year, s.status, s.first_aired, s.original_language, "
        + _BOOKKEEPING.format(a="s"),
        "series s",
    ),
    "episodes": (
        "e.id, s.tvdb_id AS series_tvdb_id, s.name AS series_name, e.tvdb_id, e.season_number, e.number,"
        " e.name, e.aired, e.runtime, " + _BOOKKEEPING.format(a="e"),
        "episodes e JOIN series s ON s.id = e.series_id",
    ),
}


@dataclass
class Listing:
    rows: list[dict[str, Any]]
    matching: int  # rows that match the filters, of which `rows` holds up to the limit


def list_rows(
    entity: str, which: str | None = None, series_tvdb_id: int | None = None, limit: int = 0
) -> Listing:
    """Rows of `series` or `episodes` in catalogue order, each with an `imported` flag."""
    alias = "s" if entity == "series" else "e"
    where = [FILTERS[which].format(a=alias)]
    params: list[Any] = []
    if series_tvdb_id is not None:
        where.append("s.tvdb_id = ?")
        params.append(series_tvdb_id)
    columns, source = LIST_SQL[entity]
    rest = f" FROM {source} WHERE {' AND '.join(where)}"
    order = " ORDER BY s.id" if entity == "series" else " ORDER BY s.id, e.season_number, e.number, e.id"
    limited = (" LIMIT ?", [*params, limit]) if limit else ("", params)
    cursor = db.execute_sql(f"SELECT {columns}{rest}{order}{limited[0]}", limited[1])
    names = [column[0] for column in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        row["imported"] = row["data_last_updated_at"] is not None
        rows.append(row)
    matching = len(rows)
    if limit and matching == limit:
        matching = int(db.execute_sql(f"SELECT count(*){rest}", params).fetchone()[0])
    return Listing(rows, matching)


# --- logs ----------------------------------------------------------------------------------------


def log_rows(job: str | None = None, status: str | None = None, limit: int = 0) -> list[dict[str, Any]]:
    """job_logs rows, newest first, with the table's own column names."""
    where, params = [], []
    if job:
        where.append("job_class = ? COLLATE NOCASE")
        params.append(job)
    if status:
        where.append("status = ?")
        params.append(status)
    sql = f"SELECT {', '.join(LOG_COLUMNS)} FROM job_logs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # Newest run first, its own row above its items (walks the index job_logs_by_run, no sort).
    sql += " ORDER BY coalesce(run_id, id) DESC, run_id IS NOT NULL, id DESC" + (" LIMIT ?" if limit else "")
    cursor = db.execute_sql(sql, [*params, *([limit] if limit else [])])
    return [dict(zip(LOG_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def prune_logs(older_than: timedelta, now: datetime) -> tuple[int, str]:
    """Delete job_logs rows created before now - older_than, in one transaction.

    Item rows of a deleted run go with it, so no item row points at a run that is gone. Returns
    (rows deleted, the cutoff timestamp).
    """
    cutoff = ts(now - older_than)
    with db.atomic():
        items = db.execute_sql(  # first the items of old runs, while their run rows still say which
            "DELETE FROM job_logs WHERE created_at >= ? AND run_id IN"
            " (SELECT id FROM job_logs WHERE created_at < ? AND loggable_type IS NULL)",
            (cutoff, cutoff),
        ).rowcount
        rows = db.execute_sql("DELETE FROM job_logs WHERE created_at < ?", (cutoff,)).rowcount
    return int(items + rows), cutoff
