"""Fake TheTVDB v4 API (base path /v4) with real response shapes and real quirks.

Shapes follow the captured bodies in /work/shared/api/tvdb/ (see TVDB_V4.md): original-language
names on base records, `nextAired: ""`, relative image paths, `name: null` episodes,
`airsBefore*` keys only when set, 0-based pages of 500 with absolute `links`, and the
`/updates` change feed with its 90-day limit.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass, field, fields
from typing import Any

from .base import ApiError, FakeServer, Request, Response, json_response

Translations = dict[str, dict[str, str | None]]

AUTO: Any = object()  # "derive a default" marker, so that an explicit None can mean null
SEASON_TYPES = ("default", "official", "dvd", "absolute", "alternate", "regional")
STATUS_IDS = {"Continuing": 1, "Ended": 2, "Upcoming": 3}
OFFICIAL = {"id": 1, "name": "Aired Order", "type": "official", "alternateName": None}
SEASON_TYPE_LIST = [
    OFFICIAL,
    {"id": 2, "name": "DVD Order", "type": "dvd", "alternateName": None},
    {"id": 3, "name": "Absolute Order", "type": "absolute", "alternateName": None},
]
NO_COMPANIES = {
    "studio": None,
    "network": None,
    "production": None,
    "distributor": None,
    "special_effects": None,
}
ARTWORKS = "https://artworks.thetvdb.com"
UPDATES_MAX_AGE = 90 * 86400
METHODS = {1: "create", 2: "update", 3: "delete"}


def failure(status: int, message: str) -> ApiError:
    """The v4 failure envelope; clients should branch on status, not on the text."""
    return ApiError(json_response(status, {"status": "failure", "message": message, "data": None}))


def success(data: Any, links: dict[str, Any] | None = None) -> Response:
    payload: dict[str, Any] = {"status": "success", "data": data}
    if links is not None:
        payload["links"] = links
    return json_response(200, payload)


def not_found() -> ApiError:
    return failure(404, "NotFoundException: not found")


def unauthorized() -> ApiError:
    return failure(401, "Unauthorized")


def stamp(epoch: float) -> str:
    """TheTVDB's `lastUpdated` format (UTC, no zone)."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "series"


def split_counts(total: int, seasons: int) -> list[int]:
    """Spread `total` episodes over `seasons` seasons, earlier seasons get the remainder."""
    seasons = max(1, seasons)
    base, extra = divmod(total, seasons)
    return [base + (1 if i < extra else 0) for i in range(seasons)]


def lang_list(translations: Translations, key: str) -> list[str]:
    return sorted(lang for lang, tr in translations.items() if tr.get(key))


@dataclass
class TvdbSeries:
    """Internal series state; `base()` renders the real SeriesBaseRecord key order."""

    id: int
    name: str
    slug: str
    original_language: str = "eng"
    original_country: str = "usa"
    overview: str | None = None
    image: str | None = None
    translations: Translations = field(default_factory=dict)
    aliases: list[dict[str, str]] = field(default_factory=list)
    first_aired: str = "2010-01-03"
    last_aired: str = ""
    next_aired: str = ""
    score: int = 1000
    status: str = "Continuing"
    last_updated: float = 0.0
    average_runtime: int | None = 45
    year: str = "2010"
    genres: list[str] = field(default_factory=lambda: ["Drama"])

    def base(self, lang: str | None = None) -> dict[str, Any]:
        """Base record; with `lang`, name/overview come from that translation when present
        (falling back to the original-language values, as the record must have a name)."""
        tr = self.translations.get(lang or "", {})
        return {
            "id": self.id,
            "name": tr.get("name") or self.name,
            "slug": self.slug,
            "image": self.image,
            "nameTranslations": lang_list(self.translations, "name"),
            "overviewTranslations": lang_list(self.translations, "overview"),
            "aliases": [dict(a) for a in self.aliases],
            "firstAired": self.first_aired,
            "lastAired": self.last_aired,
            "nextAired": self.next_aired,
            "score": self.score,
            "status": {
                "id": STATUS_IDS.get(self.status),
                "name": self.status,
                "recordType": "series",
                "keepUpdated": self.status == "Continuing",
            },
            "originalCountry": self.original_country,
            "originalLanguage": self.original_language,
            "defaultSeasonType": 1,
            "isOrderRandomized": False,
            "lastUpdated": stamp(self.last_updated),
            "averageRuntime": self.average_runtime,
            "episodes": None,
            "overview": tr.get("overview") or self.overview,
            "year": self.year,
        }


@dataclass
class TvdbEpisode:
    """Internal episode state; `base()` renders the real EpisodeBaseRecord key order."""

    id: int
    series_id: int
    season: int
    number: int
    name: str | None
    overview: str | None = None
    aired: str | None = None
    runtime: int | None = 45
    translations: Translations = field(default_factory=dict)
    image: str | None = None
    image_type: int | None = 11
    absolute_number: int = 0
    last_updated: float = 0.0
    finale_type: str | None = None
    airs_before_season: int | None = None
    airs_before_episode: int | None = None
    airs_after_season: int | None = None

    def base(self, seasons: Any = None, lang: str | None = None) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "id": self.id,
            "seriesId": self.series_id,
            "name": self.name,
            "aired": self.aired,
            "runtime": self.runtime,
            "nameTranslations": lang_list(self.translations, "name"),
            "overview": self.overview,
            "overviewTranslations": lang_list(self.translations, "overview"),
            "image": self.image,
            "imageType": self.image_type,
            "isMovie": 0,
            "seasons": seasons,
            "number": self.number,
            "absoluteNumber": self.absolute_number,
            "seasonNumber": self.season,
            "lastUpdated": stamp(self.last_updated),
            "finaleType": self.finale_type,
        }
        if lang is not None:
            # Translated list: an episode without a translation in `lang` gets null
            # name/overview (no silent fallback to the original language), so clients
            # must implement their own fallback chain like the official Kodi scraper.
            tr = self.translations.get(lang, {})
            rec["name"], rec["overview"] = tr.get("name"), tr.get("overview")
        for key, value in (
            ("airsBeforeSeason", self.airs_before_season),
            ("airsBeforeEpisode", self.airs_before_episode),
            ("airsAfterSeason", self.airs_after_season),
        ):
            if value is not None:  # real responses omit these keys unless set
                rec[key] = value
        rec["year"] = self.aired[:4] if self.aired else None
        return rec


class FakeTvdb(FakeServer):
    """TheTVDB v4 fake. Start with `.start()` or `with FakeTvdb() as tvdb:`."""

    base_path = "/v4"

    def __init__(
        self,
        api_key: str = "test-key",
        pin: str | None = None,
        page_size: int = 500,
        *,
        updates_page_size: int = 500,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self.pin = pin
        self.page_size = page_size
        self.updates_page_size = updates_page_size
        self.series: dict[int, TvdbSeries] = {}
        self.episodes: dict[int, TvdbEpisode] = {}
        self.events: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.logins = 0
        self._series_eps: dict[int, list[int]] = {}
        self._next_episode_id = 1_000_001
        self._register()

    def _register(self) -> None:
        r = self.route
        r("POST", r"/login", self._login)
        r("GET", r"/series/(?P<sid>\d+)", self._get_series)
        r("GET", r"/series/(?P<sid>\d+)/extended", self._get_series_extended)
        r("GET", r"/series/(?P<sid>\d+)/episodes/(?P<stype>[^/]+)", self._get_episode_page)
        r(
            "GET",
            r"/series/(?P<sid>\d+)/episodes/(?P<stype>[^/]+)/(?P<lang>[a-z]{2,3})",
            self._get_episode_page,
        )
        r("GET", r"/series/(?P<sid>\d+)/translations/(?P<lang>[^/]+)", self._series_translation)
        r("GET", r"/episodes/(?P<eid>\d+)", self._get_episode)
        r("GET", r"/episodes/(?P<eid>\d+)/extended", self._get_episode_extended)
        r("GET", r"/episodes/(?P<eid>\d+)/translations/(?P<lang>[^/]+)", self._episode_translation)
        r("GET", r"/updates", self._get_updates)

    # ================================================================= data setup
    def add_series(
        self,
        tvdb_id: int,
        name: str | None = None,
        original_language: str = "eng",
        episodes: int | list[int] = 0,
        seasons: int = 1,
        specials: int = 0,
        translations: Translations | None = None,
        image: str | None = AUTO,
        status: str = "Continuing",
        year: int | str = 2010,
        *,
        english_name: str | None = None,
        overview: str | None = AUTO,
        null_name_every: int = 0,
        **extra: Any,
    ) -> TvdbSeries:
        """Add a series and its episodes. `episodes` is a total spread over `seasons`, or a
        list of per-season counts. Non-English series get a native `name` and an English
        `eng` translation (`english_name`). `null_name_every=N` makes every N-th episode
        have `name: null` (but keep its `eng` translation). Extra kwargs set TvdbSeries
        fields (e.g. original_country, aliases, score, last_aired)."""
        english = english_name or name or f"Series {tvdb_id}"
        native = name or _native_name(original_language, english, tvdb_id)
        if overview is AUTO:
            overview = _native_overview(original_language, native)
        if translations is None:
            translations = {"eng": {"name": english, "overview": f"{english} is a test series."}}
            if original_language != "eng":
                translations[original_language] = {"name": native, "overview": overview}
        if image is AUTO:
            image = f"{ARTWORKS}/banners/posters/{tvdb_id}-1.jpg"
        extra.setdefault("original_country", _COUNTRY.get(original_language, "usa"))
        series = TvdbSeries(
            id=tvdb_id,
            name=native,
            slug=slugify(english),
            original_language=original_language,
            overview=overview,
            image=image,
            translations=translations,
            status=status,
            year=str(year),
            first_aired=f"{year}-01-03",
            last_updated=self.clock(),
            **extra,
        )
        with self.data_lock:
            self.series[tvdb_id] = series
            self._series_eps.setdefault(tvdb_id, [])
        counts = episodes if isinstance(episodes, list) else split_counts(episodes, seasons)
        self._add_episode_block(series, counts, specials, null_name_every)
        return series

    def _add_episode_block(
        self, series: TvdbSeries, counts: list[int], specials: int, null_every: int
    ) -> None:
        start = dt.date.fromisoformat(series.first_aired)
        index = 0
        for season, count in enumerate(counts, start=1):
            for number in range(1, count + 1):
                index += 1
                aired = (start + dt.timedelta(days=7 * (index - 1) + 60 * (season - 1))).isoformat()
                name = None if null_every and index % null_every == 0 else AUTO
                self.add_episode(series.id, season, number, name=name, aired=aired, absolute_number=index)
                if number == count:
                    series.last_aired = aired
        for k in range(1, specials + 1):
            before = ((k - 1) % max(1, len(counts))) + 1
            odd = k % 2 == 1
            self.add_episode(
                series.id,
                0,
                k,
                aired=(start + dt.timedelta(days=k)).isoformat(),
                airs_before_season=before if odd else None,
                airs_before_episode=1 if odd else None,
            )

    def add_episode(
        self,
        series_id: int,
        season: int,
        number: int,
        name: str | None = AUTO,
        tvdb_id: int | None = None,
        translations: Translations | None = None,
        **extra: Any,
    ) -> TvdbEpisode:
        """Add one episode. `name=None` means a null original-language name; by default the
        name is derived and an `eng` translation is created. Extra kwargs set TvdbEpisode
        fields (aired, overview, runtime, airs_before_season, finale_type, image...)."""
        series = self.series[series_id]
        with self.data_lock:
            eid = tvdb_id if tvdb_id is not None else self._new_episode_id()
            label = f"Special {number}" if season == 0 else f"{season}x{number:02d}"
            english = f"{_english_series(series)} {label}"
            if translations is None:
                translations = {"eng": {"name": english, "overview": f"Overview of {english}."}}
                if series.original_language != "eng":
                    title = f"特別編{number}" if season == 0 else f"第{number}話"
                    translations[series.original_language] = {
                        "name": title,
                        "overview": f"{title}のあらすじ。",
                    }
            native = translations.get(series.original_language, {})
            if name is AUTO:
                name = native.get("name") or english
            extra.setdefault("overview", native.get("overview"))
            extra.setdefault("image", f"{ARTWORKS}/banners/episodes/{series_id}/{eid}.jpg")
            extra.setdefault("last_updated", series.last_updated)
            episode = TvdbEpisode(
                id=eid,
                series_id=series_id,
                season=season,
                number=number,
                name=name,
                translations=translations,
                **extra,
            )
            self.episodes[eid] = episode
            self._series_eps.setdefault(series_id, []).append(eid)
        return episode

    def generate(
        self,
        series: int,
        episodes_per_series: int,
        start_id: int = 100_001,
        *,
        seasons: int = 3,
        specials: int = 1,
        non_english_every: int = 4,
        relative_image_every: int = 5,
        null_name_every: int = 7,
    ) -> list[int]:
        """Bulk data with deterministic quirks: every 5th series has a relative image path,
        every 4th is Japanese-original (native `name`, English `eng` translation), every 7th
        episode of a series has `name: null`, each series has `specials` season-0 episodes."""
        ids = []
        for i in range(1, series + 1):
            sid = start_id + i - 1
            lang = "jpn" if non_english_every and i % non_english_every == 0 else "eng"
            relative = relative_image_every and i % relative_image_every == 0
            self.add_series(
                sid,
                original_language=lang,
                episodes=episodes_per_series,
                seasons=seasons,
                specials=specials,
                image=f"/banners/posters/{sid}-1.jpg" if relative else AUTO,
                english_name=f"Generated Series {sid}",
                null_name_every=null_name_every,
                status="Ended" if i % 2 == 0 else "Continuing",
                year=2000 + i % 20,
            )
            ids.append(sid)
        return ids

    def _new_episode_id(self) -> int:
        while self._next_episode_id in self.episodes:
            self._next_episode_id += 1
        self._next_episode_id += 1
        return self._next_episode_id - 1

    # ================================================================= mutations (feed /updates)
    def change_series(self, tvdb_id: int, at: float | None = None, **fields_: Any) -> TvdbSeries:
        """Edit a series as a site editor would: fields change, `lastUpdated` moves and a
        `series` update event lands in the feed at `at` (default: `self.clock()`)."""
        when = self.clock() if at is None else at
        with self.data_lock:
            series = self.series[tvdb_id]
            _set_fields(series, fields_)
            series.last_updated = when
            self._event("series", tvdb_id, 2, when)
        return series

    def change_episode(self, episode_id: int, at: float | None = None, **fields_: Any) -> TvdbEpisode:
        """An episode save also saves its series (staff, I#6): two events are recorded."""
        when = self.clock() if at is None else at
        with self.data_lock:
            episode = self.episodes[episode_id]
            _set_fields(episode, fields_)
            episode.last_updated = when
            self._event("episodes", episode_id, 2, when, series_id=episode.series_id)
            self.series[episode.series_id].last_updated = when
            self._event("series", episode.series_id, 2, when)
        return episode

    def delete_series(self, tvdb_id: int, at: float | None = None) -> None:
        """Remove a series and its episodes (404 afterwards) and log a delete event."""
        when = self.clock() if at is None else at
        with self.data_lock:
            del self.series[tvdb_id]
            for eid in self._series_eps.pop(tvdb_id, []):
                self.episodes.pop(eid, None)
            self._event("series", tvdb_id, 3, when)

    def delete_episode(self, episode_id: int, at: float | None = None) -> None:
        """Remove an episode; logs an `episodes` delete event plus a `series` update event."""
        when = self.clock() if at is None else at
        with self.data_lock:
            episode = self.episodes.pop(episode_id)
            self._series_eps[episode.series_id].remove(episode_id)
            self._event("episodes", episode_id, 3, when, series_id=episode.series_id)
            if episode.series_id in self.series:
                self.series[episode.series_id].last_updated = when
                self._event("series", episode.series_id, 2, when)

    def expire_tokens(self) -> None:
        """Invalidate every issued token: the next calls get 401 until the client logs in."""
        with self.data_lock:
            self.tokens.clear()

    def _event(
        self, entity: str, record_id: int, method: int, when: float, series_id: int | None = None
    ) -> None:
        event: dict[str, Any] = {
            "recordType": "",
            "recordId": record_id,
            "methodInt": method,
            "method": METHODS[method],
            "extraInfo": "",
            "userId": 0,
            "timeStamp": int(when),
            "entityType": entity,
        }
        if series_id is not None:
            event["seriesId"] = series_id
        self.events.append(event)

    # ================================================================= server hooks
    def is_login(self, req: Request) -> bool:
        return req.path.rstrip("/") == "/login"

    def not_found_response(self) -> Response:
        return not_found().response

    def error_500_response(self) -> Response:
        return failure(500, "Internal Server Error").response

    def too_many_response(self) -> Response:
        return failure(429, "Too Many Requests").response

    def _require_auth(self, req: Request) -> None:
        header = req.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            raise unauthorized()

    def _series_or_404(self, sid: str) -> TvdbSeries:
        series = self.series.get(int(sid))
        if series is None:
            raise not_found()
        return series

    def _episode_or_404(self, eid: str) -> TvdbEpisode:
        episode = self.episodes.get(int(eid))
        if episode is None:
            raise not_found()
        return episode

    def _sorted_episodes(self, sid: int) -> list[TvdbEpisode]:
        eps = [self.episodes[e] for e in self._series_eps.get(sid, [])]
        return sorted(eps, key=lambda e: (e.season, e.number, e.id))

    # ================================================================= routes
    def _login(self, req: Request) -> Response:
        body = req.json()
        body = body if isinstance(body, dict) else {}
        if body.get("apikey") != self.api_key:
            raise failure(401, "InvalidAPIKey: apikey invalid")
        if self.pin is not None and body.get("pin") != self.pin:
            raise failure(400, "InvalidValueType: pin required")
        token = _make_token(self.clock())
        self.tokens.add(token)
        self.logins += 1
        return success({"token": token})

    def _get_series(self, req: Request, sid: str) -> Response:
        self._require_auth(req)
        return success(self._series_or_404(sid).base())

    def _get_series_extended(self, req: Request, sid: str) -> Response:
        self._require_auth(req)
        series = self._series_or_404(sid)
        rec = series.base()
        short = req.query.get("short", "false").lower() == "true"
        meta = req.query.get("meta")
        if meta == "episodes":
            rec["episodes"] = [e.base() for e in self._sorted_episodes(series.id)]
        rec.update(self._extended_extras(series, short))
        if meta == "translations":
            rec["translations"] = _translation_block(series.translations, series.aliases)
        return success(rec)

    def _extended_extras(self, series: TvdbSeries, short: bool) -> dict[str, Any]:
        network = _network()
        season_numbers = sorted({e.season for e in self._sorted_episodes(series.id)})
        artwork = {
            "id": series.id * 10,
            "image": f"{ARTWORKS}/banners/posters/{series.id}-1.jpg",
            "thumbnail": f"{ARTWORKS}/banners/posters/{series.id}-1_t.jpg",
            "language": series.original_language,
            "type": 2,
            "score": 100,
            "width": 680,
            "height": 1000,
            "includesText": True,
            "thumbnailWidth": 340,
            "thumbnailHeight": 500,
            "updatedAt": int(series.last_updated),
            "status": {"id": 1, "name": "Low Quality"},
            "tagOptions": None,
        }
        return {
            "artworks": None if short else [artwork],
            "companies": [network],
            "originalNetwork": network,
            "latestNetwork": network,
            "genres": [{"id": 1 + i, "name": g, "slug": slugify(g)} for i, g in enumerate(series.genres)],
            "trailers": [],
            "lists": [],
            "remoteIds": [],
            "characters": None if short else [],
            "airsDays": {d: d == "sunday" for d in _DAYS},
            "airsTime": "21:00",
            "seasons": [_season(series.id, n, series.last_updated) for n in season_numbers],
            "tags": [],
            "contentRatings": [],
            "seasonTypes": [dict(t) for t in SEASON_TYPE_LIST],
        }

    def _get_episode_page(self, req: Request, sid: str, stype: str, lang: str | None = None) -> Response:
        self._require_auth(req)
        series = self._series_or_404(sid)
        if stype not in SEASON_TYPES:
            raise failure(400, f"InvalidValueType: season-type {stype} invalid")
        page = _int_param(req, "page", 0)
        season = _int_param(req, "season", None)
        number = _int_param(req, "episodeNumber", None)
        if number is not None and season is None:
            raise failure(400, "episodeNumber is not null then season must be present")
        air_date = req.query.get("airDate")
        eps = [
            e
            for e in self._sorted_episodes(series.id)
            if (season is None or e.season == season)
            and (number is None or e.number == number)
            and (air_date is None or e.aired == air_date)
        ]
        size = self.page_size
        chunk = [e.base(lang=lang) for e in eps[page * size : (page + 1) * size]]
        params = [(k, req.query[k]) for k in ("season", "episodeNumber", "airDate") if k in req.query]
        links = self._links(req.path.rstrip("/"), params, page, len(eps), size)
        if lang is None:
            return success({"series": series.base(), "episodes": chunk}, links)
        # Real translated variant: the series record itself carries the `episodes` array.
        data = series.base(lang=lang)
        data["episodes"] = chunk
        return success(data, links)

    def _links(
        self, path: str, params: list[tuple[str, Any]], page: int, total: int, size: int
    ) -> dict[str, Any]:
        def at(p: int) -> str:
            return self.link(path, [*params, ("page", p)])

        return {
            "prev": at(page - 1) if page > 0 else None,
            "self": at(page),
            "next": at(page + 1) if (page + 1) * size < total else None,
            "total_items": total,
            "page_size": size,
        }

    def _series_translation(self, req: Request, sid: str, lang: str) -> Response:
        self._require_auth(req)
        series = self._series_or_404(sid)
        tr = series.translations.get(lang)
        if tr is None:
            raise not_found()
        aliases = [a["name"] for a in series.aliases if a.get("language") == lang]
        return success(
            {
                "name": tr.get("name"),
                "overview": tr.get("overview"),
                "language": lang,
                "aliases": aliases,
            }
        )

    def _get_episode(self, req: Request, eid: str) -> Response:
        self._require_auth(req)
        episode = self._episode_or_404(eid)
        seasons = [
            {
                "id": _season_id(episode.series_id, episode.season),
                "seriesId": episode.series_id,
                "type": dict(OFFICIAL),
            }
        ]
        return success(episode.base(seasons=seasons))

    def _get_episode_extended(self, req: Request, eid: str) -> Response:
        self._require_auth(req)
        episode = self._episode_or_404(eid)
        seasons = [_season(episode.series_id, episode.season, episode.last_updated)]
        rec = episode.base(seasons=seasons)
        year = rec.pop("year")
        tail = {
            k: rec.pop(k) for k in ("airsBeforeSeason", "airsBeforeEpisode", "airsAfterSeason") if k in rec
        }
        rec.update(tail)
        rec["year"] = year
        rec.update(
            productionCode="",
            nominations=None,
            characters=None,
            contentRatings=[],
            remoteIds=[],
            tagOptions=None,
            trailers=[],
            networks=None,
            studios=None,
            companies=[],
            awards=[],
        )
        if req.query.get("meta") == "translations":
            rec["translations"] = _translation_block(episode.translations, [])
        return success(rec)

    def _episode_translation(self, req: Request, eid: str, lang: str) -> Response:
        self._require_auth(req)
        tr = self._episode_or_404(eid).translations.get(lang)
        if tr is None:
            raise not_found()
        return success({"name": tr.get("name"), "overview": tr.get("overview"), "language": lang})

    def _get_updates(self, req: Request) -> Response:
        """Change feed: events with timeStamp >= since (inclusive; the real API does not
        document > vs >=), oldest first, filtered by type/action, 0-based pages."""
        self._require_auth(req)
        since = _int_param(req, "since", None)
        if since is None:
            raise failure(400, "InvalidValueType: since is required")
        if since < self.clock() - UPDATES_MAX_AGE:
            raise failure(400, "InvalidValueType: since greater than 3 months ago")
        kind, action = req.query.get("type"), req.query.get("action")
        page = _int_param(req, "page", 0)
        items = [
            e
            for e in sorted(self.events, key=lambda e: e["timeStamp"])
            if e["timeStamp"] >= since
            and (kind is None or e["entityType"] == kind)
            and (action is None or e["method"] == action)
        ]
        size = self.updates_page_size
        params = [(k, req.query[k]) for k in ("since", "type", "action") if k in req.query]
        links = self._links("/updates", params, page, len(items), size)
        if not items:
            links["page_size"] = 0  # real empty feed says page_size 0 (I#369)
        return success([dict(e) for e in items[page * size : (page + 1) * size]], links)


# ===================================================================== helpers
_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_COUNTRY = {"eng": "usa", "jpn": "jpn", "spa": "esp", "deu": "deu", "fra": "fra", "kor": "kor"}


def _english_series(series: TvdbSeries) -> str:
    return series.translations.get("eng", {}).get("name") or series.name


def _native_name(lang: str, english: str, tvdb_id: int) -> str:
    if lang == "eng":
        return english
    if lang == "jpn":
        return f"テストシリーズ{tvdb_id}"
    return f"{english} ({lang})"


def _native_overview(lang: str, native: str) -> str:
    if lang == "jpn":
        return f"{native}は日本のテレビシリーズです。"
    return f"{native} is a test series."


def _set_fields(obj: Any, values: dict[str, Any]) -> None:
    known = {f.name for f in fields(obj)}
    for key, value in values.items():
        if key not in known:
            raise TypeError(f"unknown field {key!r} for {type(obj).__name__}")
        setattr(obj, key, value)


def _int_param(req: Request, name: str, default: int | None) -> int | None:
    raw = req.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise failure(400, f"InvalidValueType: {name} must be an integer") from None


def _season_id(series_id: int, number: int) -> int:
    return series_id * 1000 + number


def _season(series_id: int, number: int, updated: float) -> dict[str, Any]:
    return {
        "id": _season_id(series_id, number),
        "seriesId": series_id,
        "type": dict(OFFICIAL),
        "number": number,
        "nameTranslations": None,
        "overviewTranslations": None,
        "companies": dict(NO_COMPANIES),
        "lastUpdated": stamp(updated),
    }


def _network() -> dict[str, Any]:
    return {
        "id": 20,
        "name": "Test Network",
        "slug": "test-network",
        "nameTranslations": [],
        "overviewTranslations": [],
        "aliases": [],
        "country": "usa",
        "primaryCompanyType": 1,
        "activeDate": None,
        "inactiveDate": None,
        "companyType": {"companyTypeId": 1, "companyTypeName": "Network"},
        "parentCompany": {"id": None, "name": None, "relation": {"id": None, "typeName": None}},
        "tagOptions": None,
    }


def _translation_block(translations: Translations, aliases: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "nameTranslations": [
            {"name": tr["name"], "language": lang}
            for lang, tr in sorted(translations.items())
            if tr.get("name")
        ],
        "overviewTranslations": [
            {"overview": tr["overview"], "language": lang}
            for lang, tr in sorted(translations.items())
            if tr.get("overview")
        ],
        "aliases": [a["name"] for a in aliases],
    }


def _make_token(now: float) -> str:
    """JWT-shaped (header.payload.signature) but opaque; the fake only checks membership."""

    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    header = b64({"alg": "RS256", "typ": "JWT"})
    payload = b64(
        {
            "age": "",
            "apikey": "fake",
            "exp": int(now) + 30 * 86400,
            "id": "LOCAL",
            "nonce": secrets.token_hex(8),
        }
    )
    return f"{header}.{payload}.{secrets.token_urlsafe(32)}"
