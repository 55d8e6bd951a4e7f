"""Unit tests of the TVmaze provider's requests and parsing, over httpx.MockTransport.

The bodies are real TVmaze responses (see each file's `.source.txt`), copied into
tests/data/tvmaze/; the research folder `shared/api/tvmaze/` next to the repository is the fallback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from seriesdata.errors import ItemError, NotFound
from seriesdata.providers.base import EpisodeRef, SeriesRef
from seriesdata.providers.http import Api, RetryPolicy
from seriesdata.providers.tvmaze import TvmazeProvider, html_to_text, language_code
from seriesdata.ratelimit import Limit, RateLimiter

BASE_URL = "https://api.tvmaze.com"
DATA_DIRS = (
    Path(__file__).parent / "data" / "tvmaze",
    Path(__file__).resolve().parents[2] / "shared" / "api" / "tvmaze",
)

BREAKING_BAD_TVDB = 81189
UNDER_THE_DOME_TVDB = 264492
SILICON_VALLEY_TVDB = 277165


def body(name: str) -> bytes:
    for folder in DATA_DIRS:
        if (folder / name).is_file():
            return (folder / name).read_bytes()
    raise FileNotFoundError(f"{name} is in none of {[str(folder) for folder in DATA_DIRS]}")


def special_episode() -> dict[str, Any]:
    """A special shaped like a real episode: TVmaze gives specials `number: null` and a type."""
    episode = json.loads(body("episode.json"))
    episode.update(id=999001, name="Inside the Dome", number=None, type="significant_special")
    return episode


class FakeTvmaze:
    """Answers like api.tvmaze.com for the few shows in tests/data/tvmaze, and records each hit."""

    def __init__(self, location: str = "/shows/{id}") -> None:
        self.location = location  # the Location form of a lookup hit
        self.hits: list[str] = []
        self.overrides: dict[str, httpx.Response] = {}
        self.shows = {
            169: body("show_169_breaking_bad.json"),
            1: body("show.json"),
            143: body("lookup_followed_legacy2017.json"),
        }
        self.lookup = {BREAKING_BAD_TVDB: 169, UNDER_THE_DOME_TVDB: 1, SILICON_VALLEY_TVDB: 143}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        self.hits.append(f"{path}?{params}" if params else path)
        if path in self.overrides:
            return self.overrides[path]
        if path == "/lookup/shows":
            show_id = self.lookup.get(int(params["thetvdb"]))
            if show_id is None:
                return json_response(body("lookup_404.json"), 404)
            location = self.location.format(id=show_id)
            return json_response(b"null", 301, headers={"Location": location})
        if path == "/shows/1/episodes":
            episodes = json.loads(body("show_episodes.json"))
            if params.get("specials") == "1":
                episodes.append(special_episode())
            return json_response(json.dumps(episodes).encode())
        if path in ("/shows/169/episodes", "/shows/143/episodes"):
            return json_response(b"[]")
        if path == "/episodes/1":
            return json_response(body("episode.json"))
        if path == "/shows/1/episodebynumber":
            if (params.get("season"), params.get("number")) == ("1", "1"):
                return json_response(body("episodebynumber_legacy2017.json"))
            return json_response(body("error_404_episodebynumber.json"), 404)
        if path.startswith("/shows/") and path[7:].isdigit() and int(path[7:]) in self.shows:
            return json_response(self.shows[int(path[7:])])
        return json_response(body("error_404_show.json"), 404)


def json_response(content: bytes, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}
    return httpx.Response(status, content=content, headers=headers)


def make_provider(
    fake: FakeTvmaze, *, include_specials: bool = False, follow_redirects: bool = True
) -> TvmazeProvider:
    client = httpx.Client(
        base_url=BASE_URL, transport=httpx.MockTransport(fake), follow_redirects=follow_redirects
    )
    api = Api(client, RateLimiter("tvmaze", Limit(0, 0)), retry=RetryPolicy(attempts=1))
    return TvmazeProvider(api, include_specials=include_specials)


@pytest.fixture
def fake() -> FakeTvmaze:
    return FakeTvmaze()


# --- lookup by TheTVDB id -------------------------------------------------------------------------


@pytest.mark.parametrize("location", ["/shows/{id}", "https://api.tvmaze.com/shows/{id}"])
def test_lookup_follows_the_301_relative_or_absolute(location: str) -> None:
    fake = FakeTvmaze(location=location)
    provider = make_provider(fake)

    series = provider.fetch_series(SeriesRef(tvdb_id=BREAKING_BAD_TVDB))

    assert series.tvmaze_id == 169
    assert series.name == "Breaking Bad"
    assert fake.hits == ["/lookup/shows?thetvdb=81189", "/shows/169", "/shows/169/episodes"]
    # The followed redirect is one Api request: the lookup body is the show, no second GET of it.
    assert provider.requests == 2


def test_lookup_miss_is_not_found(fake: FakeTvmaze) -> None:
    provider = make_provider(fake)

    with pytest.raises(NotFound, match="TheTVDB id 123 is not on TVmaze"):
        provider.fetch_series(SeriesRef(tvdb_id=123))
    assert provider.requests == 1


def test_lookup_of_a_legacy_2017_show_body(fake: FakeTvmaze) -> None:
    series = make_provider(fake).fetch_series(SeriesRef(tvdb_id=SILICON_VALLEY_TVDB))

    assert (series.tvmaze_id, series.name, series.year) == (143, "Silicon Valley", 2014)
    assert series.overview is not None and "<i>" not in series.overview


def test_a_redirect_loop_is_an_item_error(fake: FakeTvmaze) -> None:
    fake.location = "/lookup/shows?thetvdb={id}"
    fake.lookup[BREAKING_BAD_TVDB] = BREAKING_BAD_TVDB

    with pytest.raises(ItemError, match="TooManyRedirects"):
        make_provider(fake).fetch_series(SeriesRef(tvdb_id=BREAKING_BAD_TVDB))


def test_a_lookup_costs_one_request_once(fake: FakeTvmaze) -> None:
    provider = make_provider(fake)
    ref = SeriesRef(tvdb_id=UNDER_THE_DOME_TVDB)

    provider.fetch_series(ref)  # lookup (followed) + episodes
    assert provider.requests == 2
    provider.fetch_episodes(ref)
    assert provider.requests == 3
    provider.fetch_episode(EpisodeRef(series=ref, season_number=1, number=1))
    assert provider.requests == 4
    provider.fetch_series(ref)  # the show again, by the id the lookup found
    assert provider.requests == 6
    assert [hit for hit in fake.hits if hit.startswith("/lookup")] == ["/lookup/shows?thetvdb=264492"]


def test_a_known_show_id_never_looks_up(fake: FakeTvmaze) -> None:
    provider = make_provider(fake)
    ref = SeriesRef(tvdb_id=UNDER_THE_DOME_TVDB, tvmaze_id=1)

    provider.fetch_series(ref)
    provider.fetch_episodes(ref)
    provider.fetch_episode(EpisodeRef(series=ref, season_number=1, number=1))

    assert fake.hits == [
        "/shows/1",
        "/shows/1/episodes",
        "/shows/1/episodes",
        "/shows/1/episodebynumber?season=1&number=1",
    ]
    assert provider.requests == 4


# --- mapping --------------------------------------------------------------------------------------


def test_show_mapping_breaking_bad(fake: FakeTvmaze) -> None:
    series = make_provider(fake).fetch_series(SeriesRef(tvdb_id=BREAKING_BAD_TVDB, tvmaze_id=169))

    assert series.tvdb_id == BREAKING_BAD_TVDB
    assert series.tvmaze_id == 169
    assert series.name == "Breaking Bad"
    assert series.status == "Ended"
    assert series.first_aired == "2008-01-20"
    assert series.year == 2008
    assert series.original_language == "eng"
    assert series.url == "https://www.tvmaze.com/shows/169/breaking-bad"
    assert series.image_url == ("https://static.tvmaze.com/uploads/images/original_untouched/501/1253519.jpg")
    assert series.translations == {}
    assert series.overview is not None
    assert series.overview.startswith("Breaking Bad follows protagonist Walter White")
    assert "<" not in series.overview and ">" not in series.overview
    assert "family's financial security" in series.overview


def test_a_show_linked_to_another_tvdb_id_is_an_item_error(fake: FakeTvmaze) -> None:
    with pytest.raises(ItemError, match="TheTVDB id 81189, not 5"):
        make_provider(fake).fetch_series(SeriesRef(tvdb_id=5, tvmaze_id=169))


def test_episode_list(fake: FakeTvmaze) -> None:
    episodes = make_provider(fake).fetch_episodes(SeriesRef(tvdb_id=UNDER_THE_DOME_TVDB, tvmaze_id=1))

    assert [(e.season_number, e.number, e.tvmaze_id) for e in episodes] == [
        (1, 1, 1),
        (1, 2, 2),
        (1, 3, 3),
    ]
    pilot = episodes[0]
    assert pilot.tvdb_id is None
    assert pilot.name == "Pilot"
    assert pilot.aired == "2013-06-24"
    assert pilot.runtime == 60
    assert pilot.url == "https://www.tvmaze.com/episodes/1/under-the-dome-1x01-pilot"
    assert pilot.image_url == ("https://static.tvmaze.com/uploads/images/original_untouched/1/4388.jpg")
    assert pilot.overview is not None
    assert pilot.overview.startswith("When the residents of Chester's Mill")
    assert not any(e.is_special for e in episodes)


def test_specials_only_with_include_specials(fake: FakeTvmaze) -> None:
    ref = SeriesRef(tvdb_id=UNDER_THE_DOME_TVDB, tvmaze_id=1)

    with_specials = make_provider(fake, include_specials=True).fetch_episodes(ref)

    assert fake.hits == ["/shows/1/episodes?specials=1"]
    special = with_specials[-1]
    assert (special.tvmaze_id, special.season_number, special.number) == (999001, 0, None)
    assert special.is_special

    # A server that sends specials without being asked: they are still left out.
    fake.hits.clear()
    fake.overrides["/shows/1/episodes"] = json_response(
        json.dumps([*json.loads(body("show_episodes.json")), special_episode()]).encode()
    )
    without = make_provider(fake).fetch_episodes(ref)
    assert fake.hits == ["/shows/1/episodes"]
    assert [e.tvmaze_id for e in without] == [1, 2, 3]


def test_empty_airdate_and_missing_image(fake: FakeTvmaze) -> None:
    episode = json.loads(body("episode.json"))
    episode.update(airdate="", image=None, summary=None, runtime=None)
    fake.overrides["/episodes/1"] = json_response(json.dumps(episode).encode())

    record = make_provider(fake).fetch_episode(EpisodeRef(series=SeriesRef(1), tvmaze_id=1))

    assert (record.aired, record.image_url, record.overview, record.runtime) == (
        None,
        None,
        None,
        None,
    )


# --- single episodes ------------------------------------------------------------------------------


def test_fetch_episode_by_tvmaze_id(fake: FakeTvmaze) -> None:
    provider = make_provider(fake)
    ref = EpisodeRef(series=SeriesRef(tvdb_id=UNDER_THE_DOME_TVDB, tvmaze_id=1), tvmaze_id=1)

    record = provider.fetch_episode(ref)

    assert (record.tvmaze_id, record.season_number, record.number, record.name) == (
        1,
        1,
        1,
        "Pilot",
    )
    assert fake.hits == ["/episodes/1"]


def test_fetch_episode_of_another_show_is_an_item_error(fake: FakeTvmaze) -> None:
    ref = EpisodeRef(series=SeriesRef(tvdb_id=BREAKING_BAD_TVDB, tvmaze_id=169), tvmaze_id=1)

    with pytest.raises(ItemError, match="belongs to show 1, not 169"):
        make_provider(fake).fetch_episode(ref)


def test_fetch_episode_by_number_with_a_lookup(fake: FakeTvmaze) -> None:
    provider = make_provider(fake)
    ref = EpisodeRef(series=SeriesRef(tvdb_id=UNDER_THE_DOME_TVDB), season_number=1, number=1)

    record = provider.fetch_episode(ref)

    assert (record.tvmaze_id, record.name, record.aired) == (1, "Pilot", "2013-06-24")
    assert fake.hits == [
        "/lookup/shows?thetvdb=264492",
        "/shows/1",
        "/shows/1/episodebynumber?season=1&number=1",
    ]
    assert provider.requests == 2


def test_episodebynumber_404_is_not_found(fake: FakeTvmaze) -> None:
    ref = EpisodeRef(series=SeriesRef(UNDER_THE_DOME_TVDB, tvmaze_id=1), season_number=9, number=9)

    with pytest.raises(NotFound, match="TVmaze show 1 has no episode 9x9"):
        make_provider(fake).fetch_episode(ref)


def test_fetch_episode_needs_an_id_or_a_number(fake: FakeTvmaze) -> None:
    provider = make_provider(fake)

    with pytest.raises(ItemError, match="without its TVmaze id or season and number"):
        provider.fetch_episode(EpisodeRef(series=SeriesRef(1, tvmaze_id=1), season_number=1))
    assert provider.requests == 0


def test_unknown_show_id_is_not_found(fake: FakeTvmaze) -> None:
    with pytest.raises(NotFound):
        make_provider(fake).fetch_series(SeriesRef(tvdb_id=1, tvmaze_id=99999999))


# --- malformed answers ----------------------------------------------------------------------------


def with_show_169(**changes: Any) -> httpx.Response:
    show = json.loads(body("show_169_breaking_bad.json"))
    show.update(changes)
    return json_response(json.dumps(show).encode())


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (json_response(b'{"id": 169, "name": '), "invalid JSON body"),
        (
            httpx.Response(
                200,
                content=b"<html><body>Gateway</body></html>",
                headers={"Content-Type": "text/html"},
            ),
            "expected JSON, got text/html",
        ),
        (json_response(b"null"), "expected an object, got NoneType"),
        (json_response(b"[]"), "expected an object, got list"),
        (with_show_169(id="169"), "field 'id' is str"),
        (with_show_169(id=None), "missing field 'id'"),
        (with_show_169(summary=["not", "html"]), "field 'summary' is list"),
        (with_show_169(premiered=2008), "field 'premiered' is int"),
        (with_show_169(image="https://example.org/a.jpg"), "field 'image' is str"),
        (with_show_169(externals={"thetvdb": "81189"}), "field 'thetvdb' is str"),
    ],
)
def test_malformed_show_is_an_item_error(fake: FakeTvmaze, response: httpx.Response, reason: str) -> None:
    fake.overrides["/shows/169"] = response

    with pytest.raises(ItemError, match=reason):
        make_provider(fake).fetch_series(SeriesRef(BREAKING_BAD_TVDB, tvmaze_id=169))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"1": {}}', "expected a list, got dict"),
        (b"[1]", "episode #1 of TVmaze show 1: .*expected an object, got int"),
        (b'[{"id": 5, "season": "one", "number": 1}]', "episode #1 .*field 'season' is str"),
        (b'[{"id": 5, "number": 1}]', "missing field 'season'"),
        (b'[{"id": 5, "season": 1, "number": 1, "airdate": 20130624}]', "'airdate' is int"),
        (b'[{"id": true, "season": 1, "number": 1}]', "field 'id' is bool"),
    ],
)
def test_malformed_episode_list_is_an_item_error(fake: FakeTvmaze, content: bytes, reason: str) -> None:
    fake.overrides["/shows/1/episodes"] = json_response(content)

    with pytest.raises(ItemError, match=reason):
        make_provider(fake).fetch_episodes(SeriesRef(UNDER_THE_DOME_TVDB, tvmaze_id=1))


def test_lookup_answering_200_null_is_an_item_error(fake: FakeTvmaze) -> None:
    fake.overrides["/lookup/shows"] = json_response(b"null")

    with pytest.raises(ItemError, match="expected an object"):
        make_provider(fake).fetch_series(SeriesRef(tvdb_id=BREAKING_BAD_TVDB))


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p><b>Breaking Bad</b> follows Walter.</p>", "Breaking Bad follows Walter."),
        ("<p>One.</p><p>Two.</p>", "One.\nTwo."),
        ("Line one<br>line two<br/>line three", "Line one\nline two\nline three"),
        ("<p>Tom &amp; Jerry&#39;s &quot;show&quot;&nbsp;here</p>", 'Tom & Jerry\'s "show" here'),
        ("<p>  spread\n  over\tlines  </p>\n\n<p></p>", "spread over lines"),
        ("plain text", "plain text"),
        ("<p> </p>", None),
        ("", None),
        (None, None),
    ],
)
def test_html_to_text(html: str | None, text: str | None) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("English", "eng"),
        ("Japanese", "jpn"),
        ("German", "deu"),
        ("French", "fra"),
        ("Spanish", "spa"),
        ("korean", "kor"),
        ("Scottish  Gaelic", "gla"),
        ("Klingon", None),
        (None, None),
    ],
)
def test_language_code(name: str | None, code: str | None) -> None:
    assert language_code(name) == code
