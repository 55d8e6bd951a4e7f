"""Fake TVmaze public API (root path) with real shapes and the real 20-calls/10-s limit.

Shapes follow /work/shared/api/tvmaze/ (see TVMAZE.md): lookup answers 301 with an absolute
Location and body `null`, Yii-style error envelopes, HTML summaries, specials with
`number: null`, and `Cache-Control: public, max-age=3600` on every response.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections import deque
from typing import Any

from .base import ApiError, FakeServer, Request, Response, json_response

UPDATE_WINDOWS = {"day": 86400, "week": 7 * 86400, "month": 30 * 86400}


def yii_error(status: int, name: str, message: str = "") -> ApiError:
    """TVmaze's error envelope ({"name","message","code":0,"status"})."""
    body = {"name": name, "message": message, "code": 0, "status": status}
    return ApiError(json_response(status, body))


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "show"


def split_counts(total: int, seasons: int) -> list[int]:
    seasons = max(1, seasons)
    base, extra = divmod(total, seasons)
    return [base + (1 if i < extra else 0) for i in range(seasons)]


BREAKING_BAD: dict[str, Any] = {
    "id": 169,
    "url": "https://www.tvmaze.com/shows/169/breaking-bad",
    "name": "Breaking Bad",
    "type": "Scripted",
    "language": "English",
    "genres": ["Drama", "Crime", "Thriller"],
    "status": "Ended",
    "runtime": 60,
    "averageRuntime": 60,
    "premiered": "2008-01-20",
    "ended": "2019-10-11",
    "officialSite": "http://www.amc.com/shows/breaking-bad",
    "schedule": {"time": "22:00", "days": ["Sunday"]},
    "rating": {"average": 9.2},
    "weight": 99,
    "network": {
        "id": 20,
        "name": "AMC",
        "country": {"name": "United States", "code": "US", "timezone": "America/New_York"},
        "officialSite": None,
    },
    "webChannel": None,
    "dvdCountry": None,
    "externals": {"tvrage": 18164, "thetvdb": 81189, "imdb": "tt0903747"},
    "image": {
        "medium": "https://static.tvmaze.com/uploads/images/medium_portrait/501/1253519.jpg",
        "original": "https://static.tvmaze.com/uploads/images/original_untouched/501/1253519.jpg",
    },
    "summary": (
        "<p><b>Breaking Bad</b> follows protagonist Walter White, a chemistry teacher who lives "
        "in New Mexico with his wife and teenage son who has cerebral palsy. White is diagnosed "
        "with Stage III cancer and given a prognosis of two years left to live.</p>"
    ),
    "updated": 1769198028,
}
BB_SEASON1 = [
    "Pilot",
    "Cat's in the Bag...",
    "...And the Bag's in the River",
    "Cancer Man",
    "Gray Matter",
    "Crazy Handful of Nothin'",
    "A No-Rough-Stuff-Type Deal",
]


class FakeTvmaze(FakeServer):
    """TVmaze fake. `rate_limit=None` disables the per-IP limit."""

    base_path = ""
    extra_headers = {"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"}

    def __init__(
        self,
        rate_limit: int | None = 20,
        rate_window: float = 10.0,
        *,
        send_retry_after: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.send_retry_after = send_retry_after
        self.rate_limited = 0
        self.shows: dict[int, dict[str, Any]] = {}
        self.episodes: dict[int, dict[str, Any]] = {}
        self._show_eps: dict[int, list[int]] = {}
        self._arrivals: dict[str, deque[float]] = {}
        self._next_episode_id = 5_000_001
        self._register()

    def _register(self) -> None:
        r = self.route
        r("GET", r"/lookup/shows", self._lookup)
        r("GET", r"/shows/(?P<sid>\d+)", self._get_show)
        r("GET", r"/shows/(?P<sid>\d+)/episodes", self._get_show_episodes)
        r("GET", r"/shows/(?P<sid>\d+)/episodebynumber", self._episode_by_number)
        r("GET", r"/episodes/(?P<eid>\d+)", self._get_episode)
        r("GET", r"/updates/shows", self._updates)

    # ================================================================= data setup
    def add_show(
        self,
        tvmaze_id: int,
        thetvdb: int | None = None,
        name: str | None = None,
        episodes: int | list[int] = 0,
        specials: int = 0,
        *,
        seasons: int = 1,
        imdb: str | None = None,
        tvrage: int | None = None,
        status: str = "Running",
        premiered: str = "2010-01-03",
        updated: int | None = None,
        episode_names: dict[tuple[int, int], str] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Add a show. `episodes` is a total spread over `seasons` or per-season counts;
        `specials` adds significant specials (number null) aired after season k's finale.
        Extra kwargs override show keys (type, language, genres, summary, network...)."""
        name = name or f"Show {tvmaze_id}"
        show: dict[str, Any] = {
            "id": tvmaze_id,
            "url": f"https://www.tvmaze.com/shows/{tvmaze_id}/{slugify(name)}",
            "name": name,
            "type": "Scripted",
            "language": "English",
            "genres": ["Drama"],
            "status": status,
            "runtime": 60,
            "averageRuntime": 60,
            "premiered": premiered,
            "ended": None,
            "officialSite": None,
            "schedule": {"time": "21:00", "days": ["Sunday"]},
            "rating": {"average": 8.0},
            "weight": 90,
            "network": {
                "id": 1,
                "name": "Test Network",
                "country": {"name": "United States", "code": "US", "timezone": "America/New_York"},
                "officialSite": None,
            },
            "webChannel": None,
            "dvdCountry": None,
            "externals": {"tvrage": tvrage, "thetvdb": thetvdb, "imdb": imdb},
            "image": {
                "medium": f"https://static.tvmaze.com/uploads/images/medium_portrait/1/{tvmaze_id}.jpg",
                "original": f"https://static.tvmaze.com/uploads/images/original_untouched/1/{tvmaze_id}.jpg",
            },
            "summary": f"<p><b>{name}</b> is a test show.</p>",
            "updated": int(self.clock()) if updated is None else updated,
        }
        show.update(fields)
        counts = episodes if isinstance(episodes, list) else split_counts(episodes, seasons)
        with self.data_lock:
            self.shows[tvmaze_id] = show
            self._show_eps[tvmaze_id] = []
            self._add_episode_block(show, counts, specials, episode_names or {})
        return show

    def _add_episode_block(
        self,
        show: dict[str, Any],
        counts: list[int],
        specials: int,
        names: dict[tuple[int, int], str],
    ) -> None:
        day = dt.date.fromisoformat(show["premiered"] or "2010-01-03")
        finales: list[dt.date] = []
        for season, count in enumerate(counts, start=1):
            for number in range(1, count + 1):
                title = names.get((season, number), f"Episode {season}x{number:02d}")
                self.add_episode(show["id"], season, number, name=title, airdate=day.isoformat())
                day += dt.timedelta(days=7)
            finales.append(day - dt.timedelta(days=7))
            day += dt.timedelta(days=180)
        for k in range(1, specials + 1):
            season = ((k - 1) % max(1, len(counts))) + 1
            aired = finales[season - 1] + dt.timedelta(days=k) if finales else day
            self.add_episode(
                show["id"],
                season,
                None,
                name=f"Special {k}",
                airdate=aired.isoformat(),
                type="significant_special",
            )

    def add_episode(
        self,
        show_id: int,
        season: int,
        number: int | None,
        name: str | None = None,
        airdate: str = "2010-01-03",
        *,
        tvmaze_id: int | None = None,
        type: str = "regular",  # noqa: A002 - the API's key name
        **fields: Any,
    ) -> dict[str, Any]:
        """Add one episode dict (real key order); `number=None` for specials."""
        show = self.shows[show_id]
        eid = tvmaze_id if tvmaze_id is not None else self._new_episode_id()
        name = name or f"Episode {season}x{number or 0:02d}"
        tag = f"{season}x{number:02d}" if number is not None else "special"
        airstamp = None
        if airdate:
            nxt = dt.date.fromisoformat(airdate) + dt.timedelta(days=1)
            airstamp = f"{nxt.isoformat()}T02:00:00+00:00"
        episode: dict[str, Any] = {
            "id": eid,
            "url": f"https://www.tvmaze.com/episodes/{eid}/{slugify(show['name'])}-{tag}-{slugify(name)}",
            "name": name,
            "season": season,
            "number": number,
            "type": type,
            "airdate": airdate,
            "airtime": "21:00",
            "airstamp": airstamp,
            "runtime": 60,
            "rating": {"average": 8.1},
            "image": None,
            "summary": f"<p>{name} of <i>{show['name']}</i>.</p>",
        }
        episode.update(fields)
        with self.data_lock:
            self.episodes[eid] = episode
            self._show_eps[show_id].append(eid)
            episode["_show"] = show_id
        return episode

    def generate(
        self,
        shows: int,
        episodes_per_show: int,
        thetvdb_start: int = 100_001,
        *,
        start_id: int = 10_001,
        seasons: int = 3,
        specials: int = 1,
    ) -> list[int]:
        """Bulk shows; show i has TVmaze id start_id+i and thetvdb id thetvdb_start+i."""
        ids = []
        for i in range(shows):
            sid = start_id + i
            self.add_show(
                sid,
                thetvdb=thetvdb_start + i,
                name=f"Generated Show {sid}",
                episodes=episodes_per_show,
                seasons=seasons,
                specials=specials,
            )
            ids.append(sid)
        return ids

    def add_breaking_bad(self) -> dict[str, Any]:
        """TVmaze 169 ↔ thetvdb 81189 from the real /shows/169 capture; 62 regular episodes
        (7, 13, 13, 13, 16) plus 2 synthesised specials in season 2."""
        fields = {k: v for k, v in BREAKING_BAD.items() if k not in ("id", "name", "externals")}
        show = self.add_show(
            169,
            thetvdb=81189,
            name="Breaking Bad",
            episodes=[7, 13, 13, 13, 16],
            imdb="tt0903747",
            tvrage=18164,
            episode_names={(1, i + 1): n for i, n in enumerate(BB_SEASON1)},
            **fields,
        )
        self.add_episode(169, 2, None, "Good Cop / Bad Cop", "2009-02-17", type="significant_special")
        self.add_episode(169, 2, None, "Wedding Day", "2009-02-17", type="significant_special")
        return show

    def _new_episode_id(self) -> int:
        while self._next_episode_id in self.episodes:
            self._next_episode_id += 1
        self._next_episode_id += 1
        return self._next_episode_id - 1

    # ================================================================= mutations
    def change_show(self, tvmaze_id: int, **fields: Any) -> dict[str, Any]:
        """Edit a show; `updated` moves to `self.clock()` so /updates/shows reports it."""
        with self.data_lock:
            show = self.shows[tvmaze_id]
            show.update(fields)
            show["updated"] = int(self.clock())
        return show

    def change_episode(self, episode_id: int, **fields: Any) -> dict[str, Any]:
        """Edit an episode; like the real site, its show counts as updated too."""
        with self.data_lock:
            episode = self.episodes[episode_id]
            episode.update(fields)
            self.shows[episode["_show"]]["updated"] = int(self.clock())
        return episode

    # ================================================================= server hooks
    def not_found_response(self) -> Response:
        return yii_error(404, "Not Found").response

    def error_500_response(self) -> Response:
        return yii_error(500, "Internal Server Error", "An internal server error occurred.").response

    def too_many_response(self) -> Response:
        return yii_error(429, "Too Many Requests", "Rate limit exceeded").response

    def gate(self, req: Request) -> Response | None:
        """Sliding window per client IP over *accepted* requests: the (limit+1)-th request
        inside any `rate_window` seconds gets 429 until the oldest one leaves the window."""
        if self.rate_limit is None:
            return None
        now = time.monotonic()
        with self.data_lock:
            arrivals = self._arrivals.setdefault(req.client, deque())
            while arrivals and arrivals[0] <= now - self.rate_window:
                arrivals.popleft()
            if len(arrivals) < self.rate_limit:
                arrivals.append(now)
                return None
            self.rate_limited += 1
            wait = arrivals[0] + self.rate_window - now
        resp = self.too_many_response()
        if self.send_retry_after:
            resp.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return resp

    def reset_rate_limit(self) -> None:
        """Forget arrival history (e.g. between test phases)."""
        with self.data_lock:
            self._arrivals.clear()

    # ================================================================= rendering
    def _show_or_404(self, sid: str | int) -> dict[str, Any]:
        show = self.shows.get(int(sid))
        if show is None:
            raise yii_error(404, "Not Found")
        return show

    def _episodes_of(self, sid: int, specials: bool) -> list[dict[str, Any]]:
        eps = [self.episodes[e] for e in self._show_eps.get(sid, [])]
        if not specials:
            eps = [e for e in eps if e["type"] == "regular"]
        return sorted(eps, key=lambda e: (e["airdate"] or "9999", e["id"]))

    def _render_episode(self, episode: dict[str, Any]) -> dict[str, Any]:
        show = self.shows[episode["_show"]]
        out = {k: v for k, v in episode.items() if k != "_show"}
        out["_links"] = {
            "self": {"href": f"{self.url}/episodes/{episode['id']}"},
            "show": {"href": f"{self.url}/shows/{show['id']}", "name": show["name"]},
        }
        return out

    def _render_show(self, show: dict[str, Any]) -> dict[str, Any]:
        out = dict(show)
        links: dict[str, Any] = {"self": {"href": f"{self.url}/shows/{show['id']}"}}
        today = dt.datetime.fromtimestamp(self.clock(), dt.UTC).date().isoformat()
        eps = self._episodes_of(show["id"], specials=True)
        aired = [e for e in eps if e["airdate"] and e["airdate"] <= today]
        upcoming = [e for e in eps if e["airdate"] and e["airdate"] > today]
        for key, ep in (("previousepisode", aired[-1:]), ("nextepisode", upcoming[:1])):
            if ep:  # keys are absent when there is no such episode
                links[key] = {"href": f"{self.url}/episodes/{ep[0]['id']}", "name": ep[0]["name"]}
        out["_links"] = links
        return out

    # ================================================================= routes
    def _lookup(self, req: Request) -> Response:
        """301 with an absolute Location and body `null`; miss → 404 with body `null`."""
        keys = {"thetvdb": "thetvdb", "imdb": "imdb", "tvrage": "tvrage"}
        for param, ext in keys.items():
            value = req.query.get(param)
            if value is None:
                continue
            for show in self.shows.values():
                if str(show["externals"].get(ext)) == value:
                    location = f"{self.url}/shows/{show['id']}"
                    return json_response(301, None, {"Location": location})
        return json_response(404, None)

    def _get_show(self, req: Request, sid: str) -> Response:
        show = self._show_or_404(sid)
        embeds = req.multi.get("embed", []) + req.multi.get("embed[]", [])
        out = self._render_show(show)
        if embeds:
            if any(e != "episodes" for e in embeds):
                raise yii_error(400, "Bad Request", "Invalid embed type")
            eps = self._episodes_of(show["id"], specials=False)
            out["_embedded"] = {"episodes": [self._render_episode(e) for e in eps]}
        return json_response(200, out)

    def _get_show_episodes(self, req: Request, sid: str) -> Response:
        show = self._show_or_404(sid)
        specials = req.query.get("specials") in ("1", "true")
        eps = self._episodes_of(show["id"], specials=specials)
        return json_response(200, [self._render_episode(e) for e in eps])

    def _episode_by_number(self, req: Request, sid: str) -> Response:
        show = self._show_or_404(sid)
        season, number = req.query.get("season"), req.query.get("number")
        for ep in self._episodes_of(show["id"], specials=False):
            if str(ep["season"]) == season and str(ep["number"]) == number:
                return json_response(200, self._render_episode(ep))
        raise yii_error(404, "Not Found", "Unknown episode")

    def _get_episode(self, req: Request, eid: str) -> Response:
        episode = self.episodes.get(int(eid))
        if episode is None:
            raise yii_error(404, "Not Found")
        return json_response(200, self._render_episode(episode))

    def _updates(self, req: Request) -> Response:
        since = req.query.get("since")
        if since is not None and since not in UPDATE_WINDOWS:
            raise yii_error(400, "Bad Request", "Invalid value for since: must be day, week or month")
        cutoff = self.clock() - UPDATE_WINDOWS[since] if since else -math.inf
        items = sorted((sid, s["updated"]) for sid, s in self.shows.items() if s["updated"] >= cutoff)
        return json_response(200, {str(sid): ts for sid, ts in items})
