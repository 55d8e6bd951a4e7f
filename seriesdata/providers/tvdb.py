"""TheTVDB API v4 (`../shared/api/TVDB_V4.md`).

Requests per import, with L = configured languages other than the series' original language:
  series          1 (`/series/{id}/extended?meta=translations`) + one per 500 episodes
  one episode     1 (`/episodes/{id}/extended?meta=translations`), +1 when only season/number is known
  episode list    at most (1 + L) per 500 episodes, to fill many episodes of one series at once (a
                  language's list is read only when an episode has a translation in it)
  change feed     1 per 500 `series` events site-wide since the last read (`/updates`)
The bearer token is kept in the database and reused across runs until it is refused; then we log in
again, once.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from seriesdata.errors import AuthError, FeedGap, ItemError, NotFound
from seriesdata.providers.base import (
    Changes,
    EpisodeRecord,
    EpisodeRef,
    SeriesRecord,
    SeriesRef,
    Translations,
    epoch,
    expect,
    from_epoch,
    optional_date,
    optional_int,
    pick_text,
)
from seriesdata.providers.http import Api

ARTWORK_BASE = "https://artworks.thetvdb.com"
PAGE_SIZE = 500
MAX_PAGES = 100  # 50,000 episodes: more means the API is looping on us
UPDATES_MAX_PAGES = 5000  # 2.5 million events: about 90 days of the whole site's edits
TEXT_KEYS = ("name", "overview")


class Tokens(Protocol):
    """Where the token lives between runs: `storage.state.StoredToken` keeps it in the database."""

    def load(self) -> str | None: ...

    def save(self, token: str | None) -> None: ...


class TokenStore:
    """Tokens kept in memory only (no database: a dry run, or tests)."""

    def __init__(self) -> None:
        self.token: str | None = None

    def load(self) -> str | None:
        return self.token

    def save(self, token: str | None) -> None:
        self.token = token


class TvdbProvider:
    name = "tvdb"

    def __init__(
        self,
        api: Api,
        api_key: str | None,
        pin: str | None = None,
        languages: Sequence[str] = ("eng",),
        tokens: Tokens | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self._api_key = api_key
        self._pin = pin
        self.languages = tuple(languages)
        self.tokens: Tokens = tokens or TokenStore()
        self.clock = clock
        self._token: str | None = None
        self._login_lock = threading.Lock()

    @property
    def requests(self) -> int:
        return self.api.requests

    # --- the protocol ---------------------------------------------------------------------------

    def prepare(self) -> None:
        """Make sure we hold a usable token before any item is tried (a refused key aborts here)."""
        self._current_token()

    def fetch_series(self, ref: SeriesRef) -> SeriesRecord:
        data = self._data(f"series/{ref.tvdb_id}/extended", {"meta": "translations", "short": "true"}, dict)
        translations = self._translations(expect(data, "translations", dict) or {})
        original = expect(data, "originalLanguage", str)
        status = expect(data, "status", dict) or {}
        record = SeriesRecord(
            tvdb_id=ref.tvdb_id,
            name=self._text(translations, "name", original, expect(data, "name", str)),
            overview=self._text(translations, "overview", original, expect(data, "overview", str)),
            status=expect(status, "name", str),
            first_aired=optional_date(data.get("firstAired")),
            year=optional_int(data.get("year")),
            original_language=original,
            image_url=absolute_image(expect(data, "image", str)),
            translations=self._keep(translations),
        )
        record.episodes = [episode for page in self._list_pages(ref.tvdb_id) for episode in page]
        return record

    def fetch_episode(self, ref: EpisodeRef) -> EpisodeRecord:
        episode_id = ref.tvdb_id
        if episode_id is None:
            episode_id = self._find_episode_id(ref)
        data = self._data(f"episodes/{episode_id}/extended", {"meta": "translations"}, dict)
        translations = self._translations(expect(data, "translations", dict) or {})
        original = ref.series.original_language
        record = episode_record(data)
        record.name = self._text(translations, "name", original, record.name)
        record.overview = self._text(translations, "overview", original, record.overview)
        record.translations = self._keep(translations)
        return record

    def fetch_episodes(self, ref: SeriesRef) -> list[EpisodeRecord]:
        """Every episode of a series from its list, with the very text `fetch_episode` would store.

        The list carries original-language text and, per episode, the languages that have a
        translation. A language's translated list is read (once per series, every page) only when an
        episode has a translation in it that the choice of text needs, so an English library with
        English series costs one request per 500 episodes.
        """
        original = ref.original_language
        listed: list[tuple[EpisodeRecord, dict[str, list[str] | None]]] = []
        for items, series in self._list_pages_with_series(ref.tvdb_id):
            original = original or expect(series, "originalLanguage", str)
            for item in items:
                langs = {key: _languages(item, f"{key}Translations") for key in TEXT_KEYS}
                listed.append((episode_record(item), langs))
        lists = _TranslatedLists(self, ref.tvdb_id)
        episodes: dict[int, EpisodeRecord] = {}
        for record, langs in listed:
            texts = _EpisodeTexts(record, langs, original, lists)
            record.name = self._choose(texts, "name", original)
            record.overview = self._choose(texts, "overview", original)
            record.translations = texts.kept(self.languages)
            if record.tvdb_id is not None:
                episodes[record.tvdb_id] = record
        return list(episodes.values())

    def _choose(self, texts: _EpisodeTexts, key: str, original: str | None) -> str | None:
        """`_text` over lazily read translations: same order, same answer."""
        text = texts.base(key)
        if original and not text:
            text = texts.get(original, key)
        for lang in self.languages:
            value = texts.get(lang, key)
            if value:
                return value
        if text:
            return text
        for lang in ("eng", *texts.any_order()):
            value = texts.get(lang, key)
            if value:
                return value
        return None

    # --- the change feed ---------------------------------------------------------------------------

    feed_reach = timedelta(days=89)  # `since` older than about 90 days is refused with a 400

    def changes_since(self, since: datetime, now: datetime) -> Changes:
        """`/updates?type=series` since `since`, every page: updates (and creates) and deletes.

        An episode's edit also lands as a `series` event, so this one feed covers episodes too; episodes
        deleted upstream are found by the 404 their refresh gets. Any failure, on any page, raises: a
        partial read must never be taken for the whole.
        """
        if since < now - self.feed_reach:
            raise FeedGap(f"TheTVDB's change feed reaches back {self.feed_reach.days} days, not to {since}")
        before = self.requests
        changes = Changes(key="tvdb_id")
        params = {"since": epoch(since), "type": "series"}
        latest: dict[int, tuple[int, str]] = {}
        for body in self._pages("updates", params, max_pages=UPDATES_MAX_PAGES):
            for event in expect(body, "data", list) or []:
                record_id = expect(event, "recordId", int, nullable=False)
                stamp = expect(event, "timeStamp", int, nullable=False)
                method = expect(event, "method", str) or ""
                if record_id not in latest or stamp >= latest[record_id][0]:
                    latest[record_id] = (stamp, method)
        for record_id, (stamp, method) in latest.items():
            (changes.deleted if method == "delete" else changes.changed)[record_id] = from_epoch(stamp)
        changes.requests = self.requests - before
        return changes

    def episode_list_cost(self, ref: SeriesRef, episodes: int) -> int:
        """Requests `fetch_episodes` will send for a series with about `episodes` episodes."""
        pages = max(1, math.ceil(episodes / PAGE_SIZE))
        languages = [lang for lang in self.languages if lang != ref.original_language]
        return pages * (1 + len(languages))

    # --- reading -----------------------------------------------------------------------------------

    def _list_pages(self, series_id: int) -> Iterator[list[EpisodeRecord]]:
        for items, _series in self._list_pages_with_series(series_id):
            yield [episode_record(item) for item in items]

    def _list_pages_with_series(self, series_id: int) -> Iterator[tuple[list[Any], dict[str, Any]]]:
        for body in self._pages(f"series/{series_id}/episodes/default"):
            data = expect(body, "data", dict, nullable=False)
            series = expect(data, "series", dict) or {}
            yield expect(data, "episodes", list) or [], series

    def _translated_list(self, series_id: int, lang: str) -> Iterator[dict[str, Any]]:
        for body in self._pages(f"series/{series_id}/episodes/default/{lang}"):
            data = expect(body, "data", dict, nullable=False)
            for item in expect(data, "episodes", list) or []:
                yield expect({"item": item}, "item", dict, nullable=False)

    def _pages(
        self, path: str, params: dict[str, Any] | None = None, max_pages: int = MAX_PAGES
    ) -> Iterator[dict[str, Any]]:
        """Every page of a paginated list: until `links.next` is null or a page comes back empty."""
        for page in range(max_pages):
            body = self._get(path, {**(params or {}), "page": page})
            yield body
            data = body.get("data")
            episodes = data.get("episodes") if isinstance(data, dict) else data
            links = body.get("links")
            links = links if isinstance(links, dict) else {}
            if not links.get("next") or not episodes:
                return
        raise ItemError(f"{path} returned more than {max_pages} pages")

    def _find_episode_id(self, ref: EpisodeRef) -> int:
        if ref.season_number is None or ref.number is None:
            raise ItemError("episode has neither a TheTVDB id nor a season and number")
        data = self._data(
            f"series/{ref.series.tvdb_id}/episodes/default",
            {"season": ref.season_number, "episodeNumber": ref.number},
            dict,
        )
        for item in expect(data, "episodes", list) or []:
            record = episode_record(item)
            if (record.season_number, record.number) == (ref.season_number, ref.number):
                if record.tvdb_id is not None:
                    return record.tvdb_id
        raise NotFound(
            f"not found upstream: series {ref.series.tvdb_id} has no episode "
            f"S{ref.season_number:02d}E{ref.number:02d}"
        )

    def _data(self, path: str, params: dict[str, Any] | None, kind: type) -> Any:
        return expect(self._get(path, params), "data", kind, nullable=False)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        token = self._current_token()
        try:
            body = self.api.get_json(path, params, headers={"Authorization": f"Bearer {token}"})
        except AuthError:
            token = self._login(refused=token)
            body = self.api.get_json(path, params, headers={"Authorization": f"Bearer {token}"})
        if not isinstance(body, dict) or body.get("status") != "success":
            raise ItemError(f"unexpected response from {path}: not a success envelope")
        return body

    # --- text ------------------------------------------------------------------------------------

    def _translations(self, block: dict[str, Any]) -> Translations:
        found: Translations = {}
        for key, field in (("nameTranslations", "name"), ("overviewTranslations", "overview")):
            for item in expect(block, key, list) or []:
                if not isinstance(item, dict) or item.get("isAlias"):
                    continue
                lang, text = item.get("language"), item.get(field)
                if isinstance(lang, str) and isinstance(text, str) and text:
                    found.setdefault(lang, {})[field] = text
        return found

    def _text(
        self, translations: Translations, key: str, original: str | None, text: str | None
    ) -> str | None:
        """Configured languages first, then the original-language text, then English, then any."""
        if original and original in translations and not text:
            text = translations[original].get(key)
        chosen = pick_text(translations, key, self.languages, text)
        if chosen:
            return chosen
        for lang in ("eng", *translations):
            if translations.get(lang, {}).get(key):
                return translations[lang][key]
        return None

    def _keep(self, translations: Translations) -> Translations:
        return {lang: translations[lang] for lang in self.languages if lang in translations}

    # --- authentication --------------------------------------------------------------------------

    def _current_token(self) -> str:
        if self._token:
            return self._token
        with self._login_lock:
            if not self._token:
                stored = self.tokens.load()
                self._token = stored if stored and not token_expired(stored, self.clock()) else None
            if self._token:
                return self._token
        return self._login(refused=None)

    def _login(self, refused: str | None) -> str:
        """Log in once, however many threads found the token refused at the same time."""
        with self._login_lock:
            if self._token and self._token != refused:
                return self._token  # another thread already logged in again
            if not self._api_key:
                raise AuthError(
                    "no TheTVDB API key configured: set SERIESDATA_TVDB_API_KEY or use --provider tvmaze"
                )
            body: dict[str, Any] = {"apikey": self._api_key}
            if self._pin:
                body["pin"] = self._pin
            try:
                response = self.api.send("POST", "login", json=body)
            except AuthError:
                self.tokens.save(None)
                raise AuthError("TheTVDB refused the API key (HTTP 401 at login)") from None
            except ItemError:
                raise AuthError(
                    "TheTVDB rejected the login (HTTP 4xx): check the API key, and set "
                    "SERIESDATA_TVDB_PIN if your key needs a subscriber PIN"
                ) from None
            data = expect(self.api.decode(response), "data", dict, nullable=False)
            token = expect(data, "token", str, nullable=False)
            self._token = token
            self.tokens.save(token)
            return token


def token_expired(token: str, now: float) -> bool:
    """A JWT whose `exp` is less than an hour away counts as expired; an unreadable one does not."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) < now + 3600
    except (IndexError, ValueError, KeyError, TypeError):
        return False


def absolute_image(path: str | None) -> str | None:
    """TheTVDB sometimes serves artwork as `/banners/...`; we always store absolute URLs."""
    if not path:
        return None
    if path.startswith(("http://", "https://")):
        return path
    return f"{ARTWORK_BASE}/{path.lstrip('/')}"


def episode_record(data: Any) -> EpisodeRecord:
    """An EpisodeBaseRecord (from a list or `/episodes/{id}`) in the original language."""
    return EpisodeRecord(
        tvdb_id=expect(data, "id", int, nullable=False),
        season_number=expect(data, "seasonNumber", int),
        number=expect(data, "number", int),
        name=expect(data, "name", str),
        overview=expect(data, "overview", str),
        aired=optional_date(data.get("aired")),
        runtime=optional_int(data.get("runtime")),
        image_url=absolute_image(expect(data, "image", str)),
    )


def _languages(item: Any, key: str) -> list[str] | None:
    """The languages a list record says have a translation; None when it does not say."""
    value = item.get(key) if isinstance(item, dict) else None
    return [lang for lang in value if isinstance(lang, str)] if isinstance(value, list) else None


class _TranslatedLists:
    """One series' translated episode lists, each read on first need: {lang: {episode id: texts}}."""

    def __init__(self, provider: TvdbProvider, series_id: int) -> None:
        self._provider = provider
        self._series_id = series_id
        self._read: dict[str, dict[int, dict[str, str]]] = {}

    def get(self, lang: str) -> dict[int, dict[str, str]]:
        if lang not in self._read:
            found: dict[int, dict[str, str]] = {}
            for item in self._provider._translated_list(self._series_id, lang):
                texts = {key: expect(item, key, str) for key in TEXT_KEYS}
                found[expect(item, "id", int, nullable=False)] = {k: v for k, v in texts.items() if v}
            self._read[lang] = found
        return self._read[lang]


class _EpisodeTexts:
    """An episode's text by language, as `_translations` reads it from `/episodes/{id}/extended`.

    The original language's text is the list record's own; another language's comes from its
    translated list, which is read only if the record lists the language (or lists none at all).
    """

    def __init__(
        self,
        record: EpisodeRecord,
        langs: dict[str, list[str] | None],
        original: str | None,
        lists: _TranslatedLists,
    ) -> None:
        self._id = record.tvdb_id or 0
        self._base = {key: getattr(record, key) or None for key in TEXT_KEYS}  # before it is chosen over
        self._langs = langs
        self._original = original
        self._lists = lists

    def base(self, key: str) -> str | None:
        return self._base[key]

    def get(self, lang: str, key: str) -> str | None:
        listed = self._langs[key]
        if listed is not None and lang not in listed:
            return None
        if lang == self._original and self.base(key):
            return self.base(key)
        return self._lists.get(lang).get(self._id, {}).get(key)

    def any_order(self) -> list[str]:
        """Languages in the order `_translations` would meet them: name translations first."""
        order: list[str] = []
        for key in TEXT_KEYS:
            order += [lang for lang in self._langs[key] or () if lang not in order]
        return order

    def kept(self, languages: Sequence[str]) -> Translations:
        kept: Translations = {}
        for lang in languages:
            texts: dict[str, str | None] = {key: value for key in TEXT_KEYS if (value := self.get(lang, key))}
            if texts:
                kept[lang] = texts
        return kept
