"""`check-updates`: refresh stale items, led by the provider's change feed.

Before selecting, the job reads the feed from the stored watermark (or, the first time, from the oldest
data that the `--max-age` net does not already cover), records it, and selects only the stale items whose
series changed since their data was written, plus anything older than `--max-age` or than the feed's
record. When the feed fails or cannot reach back far enough, the run says so loudly (run row, stderr) and
refreshes by age instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from seriesdata.errors import Interrupted, ProviderError
from seriesdata.jobs.definitions import JobDef, Notes
from seriesdata.providers.base import ChangeFeed, Changes, Provider, has_feed
from seriesdata.storage import updates
from seriesdata.storage.catalogue import EPISODES, SERIES, Entity, Item, ts
from seriesdata.storage.updates import Staleness

# The next read starts this much before the last one did: events that show up late upstream (TheTVDB's
# feed lags, TVmaze's answers are cached for up to an hour) are read again rather than missed.
FEED_OVERLAP = timedelta(hours=1)
DEFAULT_MAX_AGE_DAYS = 30.0

JOBS = {
    "series": ("CheckSeriesDataUpdatesJob", "SeriesDataJob", SERIES, 0, 24.0),
    "episodes": ("CheckEpisodesDataUpdatesJob", "EpisodeDataJob", EPISODES, 100, 48.0),
}


def default_hours(entity: str) -> float:
    return JOBS[entity][4]


@dataclass
class CheckUpdates:
    """One `check-updates` invocation: its options, and what this run's feed read decided."""

    entity: Entity
    hours: float
    max_age: timedelta
    changed_only: bool | None = None  # None: use the feed when the provider has one
    staleness: Staleness | None = None

    # --- the JobDef hooks -------------------------------------------------------------------------

    def prepare(self, provider: Provider, now: datetime) -> Callable[[], Notes]:
        """Read the feed (requests only); the returned recorder stores it and fixes the selection."""
        age_only = Staleness(now - timedelta(hours=self.hours), now - self.max_age)
        if self.changed_only is False:
            return self._settle(age_only, Notes({"feed": "off"}))
        if not has_feed(provider):
            notes = Notes({"feed": "none"})
            if self.changed_only:
                notes = _fallback(notes, f"{provider.name} has no change feed: refreshing by age")
            return self._settle(age_only, notes)
        feed = cast(ChangeFeed, provider)
        watermark, coverage = updates.feed_state(provider.name)
        since, coverage, gap = self._since(feed.feed_reach, now, watermark, coverage)
        try:
            changes = feed.changes_since(since, now)
        except Interrupted:
            raise
        except ProviderError as error:
            notes = Notes({"feed": "failed", "feed_since": ts(since)})
            reason = f"change feed failed ({error}): refreshing every stale item by age"
            return self._settle(age_only, _fallback(notes, reason))
        watermark = max(since, now - FEED_OVERLAP)
        return lambda: self._record(provider.name, changes, since, watermark, coverage, gap, age_only, now)

    def select(self, now: datetime, retry_failed: bool) -> Iterator[list[Item]]:
        return updates.stale_items(self.entity, now, self._staleness(now), retry_failed)

    def counts(self, now: datetime) -> tuple[int, int]:
        remaining, deferred, _unchanged = updates.stale_counts(self.entity, now, self._staleness(now))
        return remaining, deferred

    def summarize(self, now: datetime) -> Notes:
        _remaining, _deferred, unchanged = updates.stale_counts(self.entity, now, self._staleness(now))
        return Notes({"skipped_unchanged": unchanged}, [f"{unchanged} unchanged"])

    def job(self) -> JobDef:
        job_class, item_class, entity, limit, _hours = JOBS[self.entity.table]
        return JobDef(
            job_class, item_class, entity, limit, select=self.select, counts=self.counts,
            prepare=self.prepare, summarize=self.summarize, verb="refreshed", refresh=True,
        )  # fmt: skip

    # --- internals ------------------------------------------------------------------------------

    def _since(
        self, reach: timedelta, now: datetime, watermark: datetime | None, coverage: datetime | None
    ) -> tuple[datetime, datetime, str | None]:
        """Where the read starts, where the unbroken record will start, and why it restarted if so."""
        floor = now - reach
        if watermark is None:  # first read: back to the oldest data the max-age net leaves to the feed
            since = max(updates.oldest_data(now - self.max_age) or now, floor)
            return since, since, None
        if watermark < floor:
            gap = (
                f"the last feed read ({ts(watermark)}) is older than the feed reaches back "
                f"({reach.days} days): data older than {ts(floor)} is refreshed by age"
            )
            return floor, floor, gap
        return watermark, coverage or watermark, None

    def _record(
        self,
        provider: str,
        changes: Changes,
        since: datetime,
        watermark: datetime,
        coverage: datetime,
        gap: str | None,
        age_only: Staleness,
        now: datetime,
    ) -> Notes:
        changed, removed = updates.record_changes(provider, changes, watermark, coverage, now)
        self.staleness = Staleness(age_only.stale_before, age_only.expired_before, coverage, changes.key)
        notes = Notes(
            {
                "feed": "restarted" if gap else "read",
                "feed_since": ts(since),
                "feed_events": len(changes.changed) + len(changes.deleted),
                "feed_requests": changes.requests,
                "changed_upstream": changed,
                "removed_upstream": removed,
            },
            [f"{changed} changed upstream"] + ([f"{removed} removed upstream"] if removed else []),
        )
        return _fallback(notes, gap) if gap else notes

    def _settle(self, staleness: Staleness, notes: Notes) -> Callable[[], Notes]:
        def record() -> Notes:
            self.staleness = staleness
            return notes

        return record

    def _staleness(self, now: datetime) -> Staleness:
        if self.staleness is None:  # not prepared (e.g. counted before a run): age only
            return Staleness(now - timedelta(hours=self.hours), now - self.max_age)
        return self.staleness


def _fallback(notes: Notes, reason: str) -> Notes:
    notes.context["fallback_reason"] = reason
    notes.remarks.append(reason)
    return notes


def check_updates(
    entity: str,
    hours: float | None = None,
    max_age_days: float = DEFAULT_MAX_AGE_DAYS,
    changed_only: bool | None = None,
) -> JobDef:
    """The `check-updates` job for `series` or `episodes`."""
    job = CheckUpdates(
        JOBS[entity][2],
        default_hours(entity) if hours is None else hours,
        timedelta(days=max_age_days),
        changed_only,
    )
    return job.job()
