"""What every provider returns, and the protocol the jobs talk to.

The jobs, the storage and the CLI only see these records: which API filled them is the provider's business.
A provider raises the classes of `seriesdata.errors` (NotFound, ItemError, ProviderUnavailable, AuthError)
and nothing else; anything unexpected in a response becomes an ItemError with a readable reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from seriesdata.errors import ItemError

# lang -> {"name": ..., "overview": ...}; only the configured languages are kept.
Translations = dict[str, dict[str, str | None]]


@dataclass(frozen=True, slots=True)
class SeriesRef:
    """What we know locally about a series when we ask a provider for it."""

    tvdb_id: int
    tvmaze_id: int | None = None
    original_language: str | None = None


@dataclass(frozen=True, slots=True)
class EpisodeRef:
    """What we know locally about an episode. Either its provider id or (season, number) is set."""

    series: SeriesRef
    tvdb_id: int | None = None
    tvmaze_id: int | None = None
    season_number: int | None = None
    number: int | None = None


@dataclass(slots=True)
class EpisodeRecord:
    tvdb_id: int | None
    season_number: int | None
    number: int | None
    name: str | None = None
    overview: str | None = None
    aired: str | None = None  # YYYY-MM-DD
    runtime: int | None = None  # minutes
    image_url: str | None = None  # always absolute
    tvmaze_id: int | None = None
    url: str | None = None  # the provider's web page for attribution (TVmaze)
    translations: Translations = field(default_factory=dict)

    @property
    def is_special(self) -> bool:
        return self.season_number == 0


@dataclass(slots=True)
class SeriesRecord:
    tvdb_id: int
    name: str | None = None
    overview: str | None = None
    status: str | None = None
    first_aired: str | None = None
    year: int | None = None
    original_language: str | None = None  # 3-letter code where the provider has one
    image_url: str | None = None
    tvmaze_id: int | None = None
    url: str | None = None
    translations: Translations = field(default_factory=dict)
    # The full episode list (regular seasons and specials); the job decides which rows to record.
    episodes: list[EpisodeRecord] = field(default_factory=list)


@dataclass(slots=True)
class Changes:
    """What a provider's change feed says happened upstream since a point in time (UTC, naive).

    `key` names the `series` column the ids are in: TheTVDB's feed speaks of TheTVDB ids (`tvdb_id`),
    TVmaze's of its own show ids (`tvmaze_id`). `changed` maps a series to its latest change, `deleted`
    to when it was deleted upstream. `requests` is what reading the feed cost.
    """

    key: str
    changed: dict[int, datetime] = field(default_factory=dict)
    deleted: dict[int, datetime] = field(default_factory=dict)
    requests: int = 0


class Provider(Protocol):
    name: str

    def fetch_series(self, ref: SeriesRef) -> SeriesRecord:
        """The series' data and its whole episode list (every page)."""
        ...

    def fetch_episode(self, ref: EpisodeRef) -> EpisodeRecord:
        """One episode's data, in the configured languages."""
        ...

    def fetch_episodes(self, ref: SeriesRef) -> list[EpisodeRecord]:
        """Every episode of a series with its data, in the configured languages.

        Used to fill many episodes of one series with a few paginated reads instead of one request each.
        """
        ...

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (retries included)."""
        ...


class ChangeFeed(Protocol):
    """Optional: a provider that can say which series changed upstream since a point in time."""

    # How far back `changes_since` may reach; older points cannot be covered by the feed.
    feed_reach: timedelta

    def changes_since(self, since: datetime, now: datetime) -> Changes:
        """Every change since `since`, reading the whole feed (all pages) or raising.

        Raises FeedGap when `since` is older than the feed reaches, ProviderError when the read fails.
        """
        ...


def has_feed(provider: object) -> bool:
    return callable(getattr(provider, "changes_since", None))


def epoch(moment: datetime) -> int:
    """Unix seconds of a naive UTC datetime."""
    return int(moment.replace(tzinfo=UTC).timestamp())


def from_epoch(seconds: float) -> datetime:
    """A naive UTC datetime (whole seconds) from Unix seconds."""
    return datetime.fromtimestamp(int(seconds), UTC).replace(tzinfo=None)


# --- helpers shared by the providers ---------------------------------------------------------------


def pick_text(
    translations: Translations, key: str, languages: Sequence[str], original: str | None
) -> str | None:
    """The first configured language that has `key`, else the original-language text."""
    for lang in languages:
        value = translations.get(lang, {}).get(key)
        if value:
            return value
    return original or None


def expect(data: Any, key: str, kind: type | tuple[type, ...], *, nullable: bool = True) -> Any:
    """Read `data[key]` and check its type, raising ItemError with a readable reason if it is wrong."""
    if not isinstance(data, Mapping):
        raise ItemError(f"unexpected response: expected an object, got {type(data).__name__}")
    value = data.get(key)
    if value is None:
        if nullable:
            return None
        raise ItemError(f"unexpected response: missing field {key!r}")
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        raise ItemError(f"unexpected response: field {key!r} is {type(value).__name__}")
    return value


def optional_int(value: Any) -> int | None:
    """Ints arrive as ints or numeric strings ("2008"); anything else becomes None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def optional_date(value: Any) -> str | None:
    """A YYYY-MM-DD date, or None for "" and null (both occur in real responses)."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None
