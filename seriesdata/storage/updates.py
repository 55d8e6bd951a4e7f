"""What `check-updates` reads and writes: stale items, and what the change feeds said.

A feed read is recorded as `series.upstream_changed_at` (the latest change seen per series) plus two
`provider_state` values per provider, written in the same transaction:
  feed_watermark   every change before it has been recorded (the next read starts here)
  feed_coverage    the start of that unbroken record: data older than it cannot be judged by the feed
So an item of a stale series is refreshed when its series changed at or after the item's own
`data_last_updated_at`, when its data is older than the coverage or than `--max-age`; otherwise it is
skipped as unchanged. A run cut short by `--limit` or Ctrl-C loses nothing: the changes are in the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from seriesdata.providers.base import Changes
from seriesdata.storage.catalogue import SERIES, Entity, Item, item_from_row, item_select, ts
from seriesdata.storage.models import TIMESTAMP_FORMAT, db

WATERMARK, COVERAGE = "feed_watermark", "feed_coverage"
FEED_KEYS = ("tvdb_id", "tvmaze_id")


def parse_ts(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text[:19], TIMESTAMP_FORMAT)


@dataclass(frozen=True, slots=True)
class Staleness:
    """Which stale items a run refreshes. `known_since` None = no feed: every stale item."""

    stale_before: datetime  # now - --hours
    expired_before: datetime  # now - --max-age: refreshed whatever the feed says
    known_since: datetime | None = None  # feed coverage start
    feed_key: str = "tvdb_id"  # series whose key is NULL are unknown to the feed: refreshed

    def refresh_sql(self, alias: str) -> tuple[str, list]:
        """SQL (and its parameters) that is true for a pending stale item that should be refreshed."""
        if self.known_since is None:
            return "1", []
        assert self.feed_key in FEED_KEYS
        sql = (
            f"({alias}.data_last_updated_at < ? OR {alias}.data_last_updated_at < ?"
            f" OR s.upstream_changed_at >= {alias}.data_last_updated_at OR s.{self.feed_key} IS NULL)"
        )
        return sql, [ts(self.expired_before), ts(self.known_since)]


def _deferred_sql(alias: str) -> str:
    """Stale items that wait: removed upstream, or waiting out a retry delay."""
    return f"({alias}.removed_upstream_at IS NOT NULL OR coalesce({alias}.next_attempt_at, '') > ?)"


def stale_items(
    entity: Entity, now: datetime, staleness: Staleness, retry_failed: bool, chunk: int = 1000
) -> Iterator[list[Item]]:
    """Stale items to refresh, oldest data first, in keyset chunks along the `*_updated` index.

    Items that wait (removed upstream, failed recently) are taken only with `retry_failed`, and then
    whatever the feed says: the user asked for them.
    """
    alias, base = item_select(entity)
    base = base.replace(" FROM ", f", {alias}.data_last_updated_at FROM ", 1)  # the keyset's first half
    refresh, refresh_params = staleness.refresh_sql(alias)
    deferred = _deferred_sql(alias)
    wanted = f"(NOT {deferred} AND {refresh})" + (f" OR {deferred}" if retry_failed else "")
    sql = (
        f"{base} WHERE {alias}.data_last_updated_at < ?"
        f" AND ({alias}.data_last_updated_at, {alias}.id) > (?, ?) AND ({wanted})"
        f" ORDER BY {alias}.data_last_updated_at, {alias}.id LIMIT ?"
    )
    wanted_params = [ts(now), *refresh_params] + ([ts(now)] if retry_failed else [])
    after: tuple[str, int] = ("", 0)
    while True:
        rows = db.execute_sql(sql, [ts(staleness.stale_before), *after, *wanted_params, chunk]).fetchall()
        if not rows:
            return
        yield [item_from_row(entity, row) for row in rows]
        after = (rows[-1][-1], rows[-1][0])
        if len(rows) < chunk:
            return


def stale_counts(entity: Entity, now: datetime, staleness: Staleness) -> tuple[int, int, int]:
    """(remaining, deferred, unchanged) among the stale items.

    remaining: to be refreshed (the next run may select them); deferred: waiting (removed upstream or
    failed recently); unchanged: stale, but the feed says their series did not change since.
    """
    alias = item_select(entity)[0]
    join = "" if entity is SERIES else " JOIN series s ON s.id = e.series_id"
    refresh, refresh_params = staleness.refresh_sql(alias)
    deferred = _deferred_sql(alias)
    row = db.execute_sql(
        f"SELECT count(*), coalesce(sum({deferred}), 0), coalesce(sum(NOT {deferred} AND {refresh}), 0)"
        f" FROM {entity.table} {alias}{join} WHERE {alias}.data_last_updated_at < ?",
        [ts(now), ts(now), *refresh_params, ts(staleness.stale_before)],
    ).fetchone()
    total, waiting, refresh_count = row
    return refresh_count, waiting, total - waiting - refresh_count


def oldest_data(not_before: datetime) -> datetime | None:
    """The oldest imported data (series or episodes, not removed) that is not older than `not_before`."""
    oldest = None
    for table in ("series", "episodes"):
        value = db.execute_sql(
            f"SELECT min(data_last_updated_at) FROM {table}"
            " WHERE data_last_updated_at >= ? AND removed_upstream_at IS NULL",
            (ts(not_before),),
        ).fetchone()[0]
        moment = parse_ts(value)
        if moment is not None and (oldest is None or moment < oldest):
            oldest = moment
    return oldest


# --- the feed's state and what it said --------------------------------------------------------------


def feed_state(provider: str) -> tuple[datetime | None, datetime | None]:
    """(watermark, coverage) of the provider's feed, None before its first complete read."""
    rows = dict(
        db.execute_sql(
            "SELECT key, value FROM provider_state WHERE provider = ? AND key IN (?, ?)",
            (provider, WATERMARK, COVERAGE),
        ).fetchall()
    )
    return parse_ts(rows.get(WATERMARK)), parse_ts(rows.get(COVERAGE))


def record_changes(
    provider: str, changes: Changes, watermark: datetime, coverage: datetime, now: datetime
) -> tuple[int, int]:
    """Store a complete feed read with its watermark, in the caller's transaction.

    Returns (series of ours that changed, series of ours newly marked removed upstream). A series
    deleted upstream is marked (with its episodes), never deleted: its data stays.
    """
    assert changes.key in FEED_KEYS
    changed = 0
    for record_id, moment in changes.changed.items():
        cursor = db.execute_sql(
            "UPDATE series SET upstream_changed_at = max(coalesce(upstream_changed_at, ''), ?)"
            f" WHERE {changes.key} = ?",
            (ts(moment), record_id),
        )
        changed += cursor.rowcount
    removed = 0
    for record_id in changes.deleted:
        row = db.execute_sql(
            f"SELECT id FROM series WHERE {changes.key} = ? AND removed_upstream_at IS NULL", (record_id,)
        ).fetchone()
        if row is not None:
            mark_series_removed(row[0], now)
            removed += 1
    _set_state(provider, WATERMARK, watermark, keep_later=True)
    _set_state(provider, COVERAGE, coverage, keep_later=False)
    return changed, removed


def mark_series_removed(series_id: int, now: datetime) -> None:
    db.execute_sql("UPDATE series SET removed_upstream_at = ? WHERE id = ?", (ts(now), series_id))
    db.execute_sql(
        "UPDATE episodes SET removed_upstream_at = ? WHERE series_id = ? AND removed_upstream_at IS NULL",
        (ts(now), series_id),
    )


def mark_removed(entity: Entity, item: Item, error: str, now: datetime) -> None:
    """A refresh got a 404: the item is gone upstream. Its data stays; it is not refreshed again."""
    if entity is SERIES:
        mark_series_removed(item.id, now)
    db.execute_sql(
        f"UPDATE {entity.table} SET removed_upstream_at = ?, last_error = ?, last_attempt_at = ?"
        " WHERE id = ?",
        (ts(now), error, ts(now), item.id),
    )


def _set_state(provider: str, key: str, moment: datetime, *, keep_later: bool) -> None:
    value = "max(value, excluded.value)" if keep_later else "excluded.value"
    db.execute_sql(
        "INSERT INTO provider_state (provider, key, value) VALUES (?, ?, ?)"
        f" ON CONFLICT (provider, key) DO UPDATE SET value = {value}",
        (provider, key, ts(moment)),
    )
