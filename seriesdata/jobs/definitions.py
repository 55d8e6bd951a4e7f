"""The jobs of SPEC §2: their `job_logs` names, what they select, and how they count what remains."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from seriesdata.providers.base import Provider
from seriesdata.storage import catalogue
from seriesdata.storage.catalogue import EPISODES, SERIES, Entity, Item


@dataclass
class Notes:
    """What a job adds to its run row: context keys, counts for the message's parentheses, remarks."""

    context: dict[str, Any] = field(default_factory=dict)
    counts: list[str] = field(default_factory=list)  # "47 unchanged"
    remarks: list[str] = field(default_factory=list)  # "change feed failed: …; refreshed by age"

    def add(self, other: Notes) -> Notes:
        return Notes(
            {**self.context, **other.context}, self.counts + other.counts, self.remarks + other.remarks
        )


@dataclass(frozen=True)
class JobDef:
    job_class: str  # the run row's job_class
    item_class: str  # each item row's job_class
    entity: Entity
    default_limit: int
    # (now, retry_failed) -> chunks of candidates, in the order the job takes them
    select: Callable[[datetime, bool], Iterator[list[Item]]]
    # now -> (remaining, deferred)
    counts: Callable[[datetime], tuple[int, int]]
    # A step before selection (check-updates reads the change feed here), in two halves: called with
    # the provider it may send requests and returns a recorder; the runner calls the recorder inside a
    # transaction (rolled back in a dry run), so nothing is written while requests are in flight.
    prepare: Callable[[Provider, datetime], Callable[[], Notes]] | None = None
    # now -> notes on what the run left alone (e.g. items skipped as unchanged), taken at the end
    summarize: Callable[[datetime], Notes] | None = None
    verb: str = "imported"  # for messages: "98 of 100 episodes imported"
    # The items have data already: a 404 marks them removed upstream (data kept) instead of backing off.
    refresh: bool = False


def _import_missing(job_class: str, item_class: str, entity: Entity, limit: int) -> JobDef:
    return JobDef(
        job_class,
        item_class,
        entity,
        limit,
        select=lambda now, retry_failed: catalogue.missing_items(entity, now, retry_failed),
        counts=lambda now: catalogue.missing_counts(entity, now),
    )


IMPORT_MISSING = {
    "series": _import_missing("ImportMissingSeriesDataJob", "SeriesDataJob", SERIES, 0),
    "episodes": _import_missing("ImportMissingEpisodesDataJob", "EpisodeDataJob", EPISODES, 100),
}


def only(job: JobDef, tvdb_ids: list[int]) -> JobDef:
    """The same job restricted to the given series (what `add --import` runs right after adding)."""

    def select(now: datetime, retry_failed: bool) -> Iterator[list[Item]]:
        yield catalogue.missing_items_of(job.entity, tvdb_ids)

    return replace(job, select=select, default_limit=0)
