"""Units of work: what one worker thread fetches, and how a batch is cut into units.

A unit is one series, one episode, or several episodes of one series filled by a single read of the
series' episode list (coalescing). Fetching never writes the catalogue: it returns `Outcome`s that the
writer thread stores. `fetch` is callable without threads, which is how the tests drive it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from seriesdata.errors import Interrupted, ItemError, SeriesdataError
from seriesdata.providers.base import EpisodeRecord, Provider, SeriesRecord
from seriesdata.storage.catalogue import Item
from seriesdata.storage.db import translate

Kind = Literal["series", "episode", "episodes"]


@dataclass(slots=True)
class Unit:
    kind: Kind
    items: list[Item]


@dataclass(slots=True)
class Outcome:
    item: Item
    record: SeriesRecord | EpisodeRecord | None = None
    error: SeriesdataError | None = None  # see `failure`
    seconds: float = 0.0
    coalesced: bool = False
    interrupted: bool = False


@dataclass(slots=True)
class Planner:
    """Cuts items into units. Episodes of one series are coalesced when a list read is cheaper."""

    provider: Provider
    series_sizes: Mapping[int, int] = field(default_factory=dict)  # series row id -> episode rows

    def units(self, kind: Literal["series", "episodes"], items: Iterable[Item]) -> Iterator[Unit]:
        if kind == "series":
            for item in items:
                yield Unit("series", [item])
            return
        groups: dict[int, list[Item]] = {}
        for item in items:
            groups.setdefault(item.series_id, []).append(item)
        for series_id, group in groups.items():
            if len(group) > 1 and self.list_cost(group[0], series_id) < len(group):
                yield Unit("episodes", group)
            else:
                yield from (Unit("episode", [item]) for item in group)

    def list_cost(self, item: Item, series_id: int) -> int:
        estimate = getattr(self.provider, "episode_list_cost", None)
        size = self.series_sizes.get(series_id, 0)
        return estimate(item.series, size) if estimate else 1


def fetch(provider: Provider, unit: Unit) -> list[Outcome]:
    """Fetch a unit's items; every error becomes part of an Outcome, never an exception."""
    started = time.monotonic()
    if unit.kind == "episodes":
        outcomes = _fetch_coalesced(provider, unit.items)
    else:
        outcomes = [_fetch_one(provider, unit.kind, unit.items[0])]
    seconds = time.monotonic() - started
    for outcome in outcomes:
        outcome.seconds = seconds
    return outcomes


def failure(error: Exception) -> SeriesdataError:
    """What a worker's exception means for the run (the runner sorts outcomes by these classes).

    The provider's own errors stand. A sqlite3 error comes from a connection of the worker's own (the
    rate limiter's, the token store's): the database is not usable, which is no item's fault, so it
    becomes a DatabaseError and aborts the run. Anything else is a bug or a response shape we did not
    foresee: it fails this item only.
    """
    if isinstance(error, SeriesdataError):
        return error
    if isinstance(error, sqlite3.Error):
        return translate(error, "the database")
    return ItemError(f"internal error: {type(error).__name__}: {error}")


def _fetch_one(provider: Provider, kind: Kind, item: Item) -> Outcome:
    try:
        if kind == "series":
            return Outcome(item, provider.fetch_series(item.series))
        assert item.episode is not None
        return Outcome(item, provider.fetch_episode(item.episode))
    except Interrupted:
        return Outcome(item, interrupted=True)
    except Exception as error:
        return Outcome(item, error=failure(error))


def _fetch_coalesced(provider: Provider, items: list[Item]) -> list[Outcome]:
    """One list read for all items; items the list does not have are fetched one by one."""
    try:
        records = provider.fetch_episodes(items[0].series)
    except Interrupted:
        return [Outcome(item, interrupted=True) for item in items]
    except Exception as error:
        problem = failure(error)
        if not isinstance(problem, ItemError):
            return [Outcome(item, error=problem) for item in items]
        records = []  # e.g. the list is malformed: the single reads will say which items fail
    index = _index(records)
    outcomes = []
    for item in items:
        record = _match(index, item)
        if record is not None:
            outcomes.append(Outcome(item, record, coalesced=True))
        else:
            outcomes.append(_fetch_one(provider, "episode", item))
    return outcomes


def _index(records: list[EpisodeRecord]) -> dict[tuple, EpisodeRecord]:
    index: dict[tuple, EpisodeRecord] = {}
    for record in records:
        if record.tvdb_id is not None:
            index[("tvdb", record.tvdb_id)] = record
        if record.tvmaze_id is not None:
            index[("tvmaze", record.tvmaze_id)] = record
        if record.number is not None:
            index.setdefault(("slot", record.season_number, record.number), record)
    return index


def _match(index: dict[tuple, EpisodeRecord], item: Item) -> EpisodeRecord | None:
    ref = item.episode
    assert ref is not None
    if ref.tvdb_id is not None:
        return index.get(("tvdb", ref.tvdb_id))
    if ref.tvmaze_id is not None and ("tvmaze", ref.tvmaze_id) in index:
        return index[("tvmaze", ref.tvmaze_id)]
    if ref.number is not None:
        return index.get(("slot", ref.season_number, ref.number))
    return None
