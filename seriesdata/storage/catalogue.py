"""Reading candidates from and writing results to `series` and `episodes`.

Every write here runs inside the caller's transaction (`db.atomic()`), together with the item's job_logs
row, so an item is either fully written or not at all. The SQL is hand-written because these statements
run once per item on the writer thread and must stay well under a millisecond.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee

from seriesdata.providers.base import (
    EpisodeRecord,
    EpisodeRef,
    SeriesRecord,
    SeriesRef,
    Translations,
)
from seriesdata.storage.models import TIMESTAMP_FORMAT, db

FAILURE_BACKOFF = timedelta(minutes=30)  # doubles with every further failed attempt
FAILURE_BACKOFF_MAX = timedelta(days=7)
NOT_FOUND_BACKOFF = timedelta(days=7)  # a 404 is unlikely to change soon
NOT_FOUND_BACKOFF_MAX = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Entity:
    table: str  # "series" | "episodes"
    loggable_type: str  # job_logs.loggable_type
    noun: str  # for messages: "series" | "episodes"


SERIES = Entity("series", "series", "series")
EPISODES = Entity("episodes", "episode", "episodes")


@dataclass(frozen=True, slots=True)
class Item:
    """One candidate row: its id, its attempts so far, and what the provider needs to find it."""

    id: int
    attempts: int
    series_id: int  # the series row (for a series: its own id)
    series: SeriesRef
    episode: EpisodeRef | None = None

    @property
    def label(self) -> str:
        if self.episode is None:
            return f"series {self.series.tvdb_id}"
        if self.episode.tvdb_id is not None:
            return f"episode {self.episode.tvdb_id}"
        season, number = self.episode.season_number, self.episode.number
        return f"series {self.series.tvdb_id} S{season or 0:02d}E{number or 0:02d}"


def ts(moment: datetime) -> str:
    return moment.strftime(TIMESTAMP_FORMAT)


# --- selection ---------------------------------------------------------------------------------

SELECT_SERIES = "SELECT s.id, s.attempts, s.id, s.tvdb_id, s.tvmaze_id, s.original_language FROM series s"
SELECT_EPISODES = (
    "SELECT e.id, e.attempts, e.series_id, s.tvdb_id, s.tvmaze_id, s.original_language,"
    " e.tvdb_id, e.tvmaze_id, e.season_number, e.number"
    " FROM episodes e JOIN series s ON s.id = e.series_id"
)


def item_select(entity: Entity) -> tuple[str, str]:
    """The table's alias and the SELECT whose rows `item_from_row` reads (add WHERE, ORDER BY...)."""
    return ("s", SELECT_SERIES) if entity is SERIES else ("e", SELECT_EPISODES)


def item_from_row(entity: Entity, row: Sequence) -> Item:
    series = SeriesRef(tvdb_id=row[3], tvmaze_id=row[4], original_language=row[5])
    episode = None
    if entity is EPISODES:
        episode = EpisodeRef(series, tvdb_id=row[6], tvmaze_id=row[7], season_number=row[8], number=row[9])
    return Item(id=row[0], attempts=row[1], series_id=row[2], series=series, episode=episode)


def missing_items(
    entity: Entity, now: datetime, retry_failed: bool, chunk: int = 1000
) -> Iterator[list[Item]]:
    """Items without data, never-tried first, then by fewest attempts, in chunks (keyset pagination).

    Items waiting out a retry delay are left out unless `retry_failed`. A chunk is read only when the
    previous one has been used up, so memory stays flat however many rows are missing.
    """
    alias = item_select(entity)[0]
    base = _missing_select(entity)
    due = "" if retry_failed else f" AND ({alias}.next_attempt_at IS NULL OR {alias}.next_attempt_at <= ?)"
    due_params = [] if retry_failed else [ts(now)]
    # SQLite cannot seek the row value `(attempts, id) > (?, ?)` in an index whose second column is
    # the rowid: it seeks `attempts` alone and skips every row before the key, chunk after chunk. So
    # each chunk seeks twice: the rest of the current attempts count, then the higher counts.
    missing = f"{base} WHERE {alias}.data_last_updated_at IS NULL"
    same = f"{missing} AND {alias}.attempts = ? AND {alias}.id > ?{due} ORDER BY {alias}.id LIMIT ?"
    later = f"{missing} AND {alias}.attempts > ?{due} ORDER BY {alias}.attempts, {alias}.id LIMIT ?"
    attempts, last_id = -1, 0
    while True:
        rows = db.execute_sql(same, [attempts, last_id, *due_params, chunk]).fetchall()
        if len(rows) < chunk:
            rows += db.execute_sql(later, [attempts, *due_params, chunk - len(rows)]).fetchall()
        if not rows:
            return
        yield [item_from_row(entity, row) for row in rows]
        attempts, last_id = rows[-1][1], rows[-1][0]
        if len(rows) < chunk:
            return


def _missing_select(entity: Entity) -> str:
    """The select over the partial index of rows without data.

    Without statistics (nobody runs ANALYZE) SQLite prefers the full `*_updated` index for `IS NULL`
    and then sorts every missing row for each chunk; the partial index hands them over in order.
    """
    if entity is SERIES:
        return f"{SELECT_SERIES} INDEXED BY series_missing"
    return SELECT_EPISODES.replace("FROM episodes e", "FROM episodes e INDEXED BY episodes_missing", 1)


def missing_counts(entity: Entity, now: datetime) -> tuple[int, int]:
    """(remaining, deferred): missing items the next run may select, and those waiting out a delay."""
    table = entity.table
    missing = db.execute_sql(f"SELECT count(*) FROM {table} WHERE data_last_updated_at IS NULL").fetchone()[0]
    deferred = db.execute_sql(
        f"SELECT count(*) FROM {table} INDEXED BY {table}_missing_next"
        " WHERE data_last_updated_at IS NULL AND next_attempt_at > ?",
        (ts(now),),
    ).fetchone()[0]
    return missing - deferred, deferred


def episode_counts(series_ids: Sequence[int]) -> dict[int, int]:
    """How many episode rows each series has (to estimate what a list read costs)."""
    if not series_ids:
        return {}
    marks = ",".join("?" * len(series_ids))
    rows = db.execute_sql(
        f"SELECT series_id, count(*) FROM episodes WHERE series_id IN ({marks}) GROUP BY series_id",
        list(series_ids),
    ).fetchall()
    return dict(rows)


# --- writing results ---------------------------------------------------------------------------


def _translations(value: Translations) -> str | None:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else None


def save_series(item: Item, record: SeriesRecord, now: datetime, include_specials: bool) -> int:
    """Write a series' data and record its episode list; returns how many episode rows were added."""
    db.execute_sql(
        "UPDATE series SET name = ?, overview = ?, status = ?, first_aired = ?, year = ?,"
        " original_language = ?, image_url = ?, tvmaze_id = coalesce(?, tvmaze_id),"
        " url = coalesce(?, url), translations = ?, data_last_updated_at = ?, attempts = 0,"
        " last_error = NULL, last_attempt_at = ?, next_attempt_at = NULL, not_found_at = NULL,"
        " removed_upstream_at = NULL WHERE id = ?",
        (
            record.name, record.overview, record.status, record.first_aired, record.year,
            record.original_language, record.image_url, record.tvmaze_id, record.url,
            _translations(record.translations), ts(now), ts(now), item.id,
        ),
    )  # fmt: skip
    return record_episode_list(item.id, record.episodes, include_specials)


def record_episode_list(series_id: int, episodes: Sequence[EpisodeRecord], include_specials: bool) -> int:
    """Insert the episodes we did not have, update the identifying fields of those we had.

    Matching goes by provider id first, then by (season, number). A slot taken by another row (an
    upstream renumbering) is left alone rather than guessed at: the next import sorts it out.
    """
    rows = db.execute_sql(
        "SELECT id, tvdb_id, tvmaze_id, season_number, number FROM episodes WHERE series_id = ?",
        (series_id,),
    ).fetchall()
    by_tvdb = {row[1]: row for row in rows if row[1] is not None}
    by_tvmaze = {row[2]: row for row in rows if row[2] is not None}
    by_slot = {(row[3], row[4]): row for row in rows if row[4] is not None}
    added = 0
    for episode in episodes:
        slot = (episode.season_number, episode.number)
        row = by_tvdb.get(episode.tvdb_id) or by_tvmaze.get(episode.tvmaze_id)
        if row is None and episode.number is not None:
            candidate = by_slot.get(slot)
            if candidate is not None and candidate[1] in (None, episode.tvdb_id):
                row = candidate
        if row is not None:
            _update_identity(row, episode, by_slot)
        elif include_specials or not episode.is_special:
            # A slot taken, or a tvdb_id listed under another series upstream too: keep the row we have.
            cursor = db.execute_sql(
                "INSERT INTO episodes (series_id, tvdb_id, tvmaze_id, season_number, number, url)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (series_id, episode.tvdb_id, episode.tvmaze_id, *slot, episode.url),
            )
            if not cursor.rowcount:
                continue
            new = (cursor.lastrowid, episode.tvdb_id, episode.tvmaze_id, *slot)
            if episode.number is not None:
                by_slot[slot] = new
            added += 1
    return added


def _update_identity(row: Sequence, episode: EpisodeRecord, by_slot: dict) -> None:
    slot = (episode.season_number, episode.number)
    current = (row[1], row[2], row[3], row[4])
    wanted = (
        episode.tvdb_id if episode.tvdb_id is not None else row[1],
        episode.tvmaze_id if episode.tvmaze_id is not None else row[2],
        *slot,
    )
    if wanted == current:
        return
    holder = by_slot.get(slot)
    if episode.number is not None and holder is not None and holder[0] != row[0]:
        wanted = (wanted[0], wanted[1], row[3], row[4])  # slot taken: keep the old numbering
    try:
        with db.atomic():
            db.execute_sql(
                "UPDATE episodes SET tvdb_id = ?, tvmaze_id = ?, season_number = ?, number = ? WHERE id = ?",
                (*wanted, row[0]),
            )
    except peewee.IntegrityError:
        return
    by_slot.pop((row[3], row[4]), None)
    if wanted[3] is not None:
        by_slot[(wanted[2], wanted[3])] = (row[0], *wanted)


def save_episode(item: Item, record: EpisodeRecord, now: datetime) -> None:
    """Write one episode's data; its identifying fields follow the provider where they do not clash."""
    values = (
        record.name, record.overview, record.aired, record.runtime, record.image_url,
record.url or None, _translations(record.translations), ts(now), ts(now),
    )  # fmt: skip
    data_sql = (
        "name = ?, overview = ?, aired = ?, runtime = ?, image_url = ?, url = coalesce(?, url),"
        " translations = ?, data_last_updated_at = ?, attempts = 0, last_error = NULL,"
        " last_attempt_at = ?, next_attempt_at = NULL, not_found_at = NULL,"
        " removed_upstream_at = NULL"
    )
    identity = (
        record.tvdb_id, record.tvmaze_id,
        record.season_number if record.number is not None else None, record.number,
    )  # fmt: skip
    try:
        with db.atomic():
            db.execute_sql(
                f"UPDATE episodes SET {data_sql}, tvdb_id = coalesce(?, tvdb_id),"
                " tvmaze_id = coalesce(?, tvmaze_id), season_number = coalesce(?, season_number),"
                " number = coalesce(?, number) WHERE id = ?",
                (*values, *identity, item.id),
            )
    except peewee.IntegrityError:
        db.execute_sql(f"UPDATE episodes SET {data_sql} WHERE id = ?", (*values, item.id))


def record_failure(
    entity: Entity, item: Item, error: str, now: datetime, *, charge: bool, not_found: bool
) -> datetime | None:
    """Remember a failed attempt. Charged failures count and back off; returns the next allowed time."""
    if not charge:
        db.execute_sql(
            f"UPDATE {entity.table} SET last_error = ?, last_attempt_at = ? WHERE id = ?",
            (error, ts(now), item.id),
        )
        return None
    attempts = item.attempts + 1
    base, cap = (
        (NOT_FOUND_BACKOFF, NOT_FOUND_BACKOFF_MAX) if not_found
        else (FAILURE_BACKOFF, FAILURE_BACKOFF_MAX)
    )  # fmt: skip
    delay = min(cap, base * 2 ** min(attempts - 1, 20))
    next_attempt = now + delay
    db.execute_sql(
        f"UPDATE {entity.table} SET attempts = attempts + 1, last_error = ?, last_attempt_at = ?,"
        " next_attempt_at = ?, not_found_at = CASE WHEN ? THEN ? ELSE NULL END WHERE id = ?",
        (error, ts(now), ts(next_attempt), not_found, ts(now), item.id),
    )
    return next_attempt


# --- adding rows by hand ---------------------------------------------------------------------------


def add_series(tvdb_ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """Insert series rows (without data) in one transaction; returns (added, already present)."""
    added: list[int] = []
    existing: list[int] = []
    with db.atomic():
        for tvdb_id in dict.fromkeys(tvdb_ids):
            cursor = db.execute_sql(
                "INSERT INTO series (tvdb_id) VALUES (?) ON CONFLICT (tvdb_id) DO NOTHING",
                (tvdb_id,),
            )
            (added if cursor.rowcount else existing).append(tvdb_id)
    return added, existing


def series_row_id(tvdb_id: int) -> int | None:
    row = db.execute_sql("SELECT id FROM series WHERE tvdb_id = ?", (tvdb_id,)).fetchone()
    return row[0] if row else None


def add_episode(
    series_id: int, tvdb_id: int | None, season: int | None, number: int | None
) -> tuple[int, bool]:
    """Insert one episode row; returns (row id, added). An episode we have is found, not doubled."""
    with db.atomic():
        found = db.execute_sql(
            "SELECT id FROM episodes WHERE (tvdb_id = ? AND ? IS NOT NULL)"
            " OR (series_id = ? AND season_number = ? AND number = ?)",
            (tvdb_id, tvdb_id, series_id, season, number),
        ).fetchone()
        if found:
            return found[0], False
        cursor = db.execute_sql(
            "INSERT INTO episodes (series_id, tvdb_id, season_number, number) VALUES (?, ?, ?, ?)",
            (series_id, tvdb_id, season, number),
        )
        return int(cursor.lastrowid), True


def missing_items_of(entity: Entity, tvdb_ids: Sequence[int]) -> list[Item]:
    """Items without data of the given series (TheTVDB ids), for `add --import`."""
    if not tvdb_ids:
        return []
    marks = ",".join("?" * len(tvdb_ids))
    alias, base = item_select(entity)
    rows = db.execute_sql(
        f"{base} WHERE s.tvdb_id IN ({marks}) AND {alias}.data_last_updated_at IS NULL ORDER BY s.id",
        list(tvdb_ids),
    ).fetchall()
    return [item_from_row(entity, row) for row in rows]
