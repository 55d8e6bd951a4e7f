"""The fakes must behave like the real services, or tests built on them prove nothing."""

from __future__ import annotations

import email.utils
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.tvdb_server import FakeTvdb
from tests.fakes.tvmaze_server import FakeTvmaze

ROOT = Path(__file__).resolve().parents[1]


def login(tvdb: FakeTvdb, client: httpx.Client) -> None:
    resp = client.post(f"{tvdb.url}/login", json={"apikey": tvdb.api_key})
    assert resp.status_code == 200
    client.headers["Authorization"] = f"Bearer {resp.json()['data']['token']}"


@pytest.fixture
def tv(tvdb: FakeTvdb) -> httpx.Client:
    with httpx.Client(timeout=5) as client:
        login(tvdb, client)
        yield client


# ------------------------------------------------------------------ TheTVDB
def test_login_and_bearer(tvdb: FakeTvdb) -> None:
    tvdb.add_series(81189, "Breaking Bad", episodes=3)
    with httpx.Client(timeout=5) as client:
        assert client.get(f"{tvdb.url}/series/81189").json() == {
            "status": "failure",
            "message": "Unauthorized",
            "data": None,
        }
        bad = client.post(f"{tvdb.url}/login", json={"apikey": "nope"})
        assert bad.status_code == 401
        assert bad.json()["message"] == "InvalidAPIKey: apikey invalid"
        login(tvdb, client)
        resp = client.get(f"{tvdb.url}/series/81189")
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "application/json; charset=UTF-8"
        data = resp.json()["data"]
        assert list(data)[:4] == ["id", "name", "slug", "image"]
        assert data["nextAired"] == "" and data["episodes"] is None
        tvdb.expire_tokens()
        assert client.get(f"{tvdb.url}/series/81189").status_code == 401
    assert tvdb.logins == 1


def test_pin_required(tvdb: FakeTvdb) -> None:
    tvdb.pin = "1234"
    resp = httpx.post(f"{tvdb.url}/login", json={"apikey": tvdb.api_key})
    assert resp.status_code == 400
    assert resp.json()["message"] == "InvalidValueType: pin required"
    ok = httpx.post(f"{tvdb.url}/login", json={"apikey": tvdb.api_key, "pin": "1234"})
    assert ok.status_code == 200


def test_episode_pagination_three_pages(tvdb: FakeTvdb, tv: httpx.Client) -> None:
    tvdb.add_series(1, "Long", episodes=1200, seasons=3)
    seen, url, pages = [], f"{tvdb.url}/series/1/episodes/default", 0
    while url:
        body = tv.get(url).json()
        assert body["links"]["self"] == f"{tvdb.url}/series/1/episodes/default?page={pages}"
        assert body["links"]["total_items"] == 1200 and body["links"]["page_size"] == 500
        assert body["data"]["series"]["id"] == 1
        seen += body["data"]["episodes"]
        url, pages = body["links"]["next"], pages + 1
    assert pages == 3 and len(seen) == 1200 and len({e["id"] for e in seen}) == 1200
    last = tv.get(f"{tvdb.url}/series/1/episodes/default", params={"page": 2}).json()
    assert last["links"]["prev"].endswith("?page=1") and last["links"]["next"] is None
    past = tv.get(f"{tvdb.url}/series/1/episodes/default", params={"page": 3}).json()
    assert past["data"]["episodes"] == []
    one = tv.get(f"{tvdb.url}/series/1/episodes/official?season=2&episodeNumber=5").json()
    assert [(e["seasonNumber"], e["number"]) for e in one["data"]["episodes"]] == [(2, 5)]
    assert one["links"]["self"].endswith("?season=2&episodeNumber=5&page=0")
    bad = tv.get(f"{tvdb.url}/series/1/episodes/default?episodeNumber=5")
    assert bad.status_code == 400


def test_translated_episode_list_and_quirks(tvdb: FakeTvdb, tv: httpx.Client) -> None:
    [sid] = tvdb.generate(1, 14, start_id=500, non_english_every=1, specials=2)
    body = tv.get(f"{tvdb.url}/series/{sid}/episodes/default/eng").json()
    data = body["data"]
    assert "series" not in data and data["id"] == sid and data["name"] == f"Generated Series {sid}"
    assert len(data["episodes"]) == 16 and body["links"]["next"] is None
    native = tv.get(f"{tvdb.url}/series/{sid}/episodes/default").json()["data"]
    assert native["series"]["name"].startswith("テスト") and native["series"]["originalLanguage"] == "jpn"
    eps = native["episodes"]
    specials = [e for e in eps if e["seasonNumber"] == 0]
    assert specials[0]["airsBeforeSeason"] == 1 and "airsBeforeSeason" not in specials[1]
    assert all("airsBeforeSeason" not in e for e in eps if e["seasonNumber"])
    nulls = [e for e in eps if e["name"] is None]
    assert len(nulls) == 2 and all("eng" in e["nameTranslations"] for e in nulls)
    tvdb.add_episode(sid, 9, 1, translations={"fra": {"name": "Un", "overview": None}})
    eng = tv.get(f"{tvdb.url}/series/{sid}/episodes/default/eng?season=9").json()
    assert eng["data"]["episodes"][0]["name"] is None


def test_extended_meta_and_translations(tvdb: FakeTvdb, tv: httpx.Client) -> None:
    tvdb.add_series(78878, "フリクリ", original_language="jpn", english_name="FLCL", episodes=6, specials=1)
    ext = tv.get(f"{tvdb.url}/series/78878/extended", params={"meta": "translations"}).json()
    names = ext["data"]["translations"]["nameTranslations"]
    assert {"name": "FLCL", "language": "eng"} in names
    assert ext["data"]["episodes"] is None and ext["data"]["seasonTypes"][0]["type"] == "official"
    eps = tv.get(f"{tvdb.url}/series/78878/extended?meta=episodes&short=true").json()["data"]
    assert len(eps["episodes"]) == 7 and eps["artworks"] is None and eps["characters"] is None
    eid = eps["episodes"][1]["id"]
    assert tv.get(f"{tvdb.url}/episodes/{eid}").json()["data"]["seasons"][0]["type"]["id"] == 1
    e_ext = tv.get(f"{tvdb.url}/episodes/{eid}/extended?meta=translations").json()["data"]
    assert e_ext["translations"]["nameTranslations"][0]["language"] == "eng"
    assert tv.get(f"{tvdb.url}/series/78878/translations/eng").json()["data"]["name"] == "FLCL"
    assert tv.get(f"{tvdb.url}/episodes/{eid}/translations/kor").status_code == 404


def test_tvdb_404_body(tvdb: FakeTvdb, tv: httpx.Client) -> None:
    for path in ("/series/999", "/series/999/extended", "/episodes/999", "/nothing"):
        resp = tv.get(tvdb.url + path)
        assert resp.status_code == 404
        assert resp.json() == {
            "status": "failure",
            "message": "NotFoundException: not found",
            "data": None,
        }


def test_updates_feed(tvdb: FakeTvdb, tv: httpx.Client) -> None:
    now = 1_700_000_000.0
    tvdb.clock = lambda: now
    tvdb.updates_page_size = 2
    tvdb.add_series(1, episodes=2)
    ep = next(iter(tvdb.episodes))
    tvdb.change_series(1, at=now - 100, status="Ended")
    tvdb.change_episode(ep, at=now - 50, name="New")
    tvdb.delete_episode(ep, at=now - 10)
    body = tv.get(f"{tvdb.url}/updates", params={"since": int(now - 1000)}).json()
    assert body["links"]["total_items"] == 5 and len(body["data"]) == 2
    assert body["links"]["next"] == f"{tvdb.url}/updates?since={int(now - 1000)}&page=1"
    feed = tv.get(f"{tvdb.url}/updates?since={int(now - 1000)}&type=episodes").json()["data"]
    assert [(e["methodInt"], e["seriesId"]) for e in feed] == [(2, 1), (3, 1)]
    assert tv.get(f"{tvdb.url}/episodes/{ep}").status_code == 404
    old = tv.get(f"{tvdb.url}/updates", params={"since": int(now - 91 * 86400)})
    assert old.status_code == 400 and "3 months" in old.json()["message"]
    assert tv.get(f"{tvdb.url}/updates").status_code == 400
    empty = tv.get(f"{tvdb.url}/updates", params={"since": int(now)}).json()
    assert empty["data"] == [] and empty["links"]["page_size"] == 0


# ------------------------------------------------------------------ faults (shared base)
def fault_sequence(seed: int) -> list[int]:
    with FakeTvdb() as server, httpx.Client(timeout=5) as client:
        login(server, client)
        server.set_faults(seed=seed, error_rate=0.3, html_502_rate=0.2, rate_429=0.1)
        return [client.get(f"{server.url}/series/1").status_code for _ in range(20)]


def test_fault_injection_is_deterministic() -> None:
    first = fault_sequence(7)
    assert first == fault_sequence(7)
    assert {500, 502, 429, 404} <= set(first)


def test_fault_kinds_and_fail_next(tvdb: FakeTvdb, tv: httpx.Client) -> None:
    tvdb.faults.html_504_rate = 1.0
    resp = tv.get(f"{tvdb.url}/series/1")
    assert resp.status_code == 504 and resp.headers["content-type"].startswith("text/html")
    assert httpx.post(f"{tvdb.url}/login", json={"apikey": "test-key"}).status_code == 200
    tvdb.set_faults(rate_429=1.0, retry_after="date")
    resp = tv.get(f"{tvdb.url}/series/1")
    assert resp.status_code == 429
    assert email.utils.parsedate_to_datetime(resp.headers["Retry-After"]).timestamp() > time.time()
    tvdb.set_faults(malformed_rate=1.0)
    assert tv.get(f"{tvdb.url}/series/1").text == '{"status": "succ'
    tvdb.set_faults(timeout_rate=1.0, timeout_seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        tv.get(f"{tvdb.url}/series/1", timeout=0.1)
    tvdb.set_faults()
    tvdb.fail_next(r"/series/\d+$", 503, times=2, body="busy", content_type="text/plain")
    assert [tv.get(f"{tvdb.url}/series/1").status_code for _ in range(3)] == [503, 503, 404]
    assert tvdb.count("/series/1") >= 3 and tvdb.log[-1].status == 404


# ------------------------------------------------------------------ TVmaze
def test_tvmaze_lookup_301_and_404(tvmaze: FakeTvmaze) -> None:
    tvmaze.add_breaking_bad()
    with httpx.Client(timeout=5, follow_redirects=False) as client:
        resp = client.get(f"{tvmaze.url}/lookup/shows", params={"thetvdb": 81189})
        assert resp.status_code == 301 and resp.text == "null"
        assert resp.headers["location"] == f"{tvmaze.url}/shows/169"
        assert resp.headers["cache-control"] == "public, max-age=3600"
        miss = client.get(f"{tvmaze.url}/lookup/shows", params={"thetvdb": 1})
        assert miss.status_code == 404 and miss.text == "null"
        show = client.get(resp.headers["location"], params={"embed": "episodes"}).json()
        assert show["externals"]["thetvdb"] == 81189 and show["summary"].startswith("<p><b>")
        assert len(show["_embedded"]["episodes"]) == 62
        eps = client.get(f"{tvmaze.url}/shows/169/episodes?specials=1").json()
        specials = [e for e in eps if e["type"] != "regular"]
        assert len(eps) == 64 and all(e["number"] is None for e in specials)
        gone = client.get(f"{tvmaze.url}/shows/169/episodebynumber?season=9&number=1")
        assert gone.json()["message"] == "Unknown episode"
        assert client.get(f"{tvmaze.url}/shows/1").json() == {
            "name": "Not Found",
            "message": "",
            "code": 0,
            "status": 404,
        }


def test_tvmaze_updates(tvmaze: FakeTvmaze) -> None:
    tvmaze.clock = lambda: 2_000_000_000.0
    tvmaze.add_show(1, updated=1_000)
    tvmaze.add_show(2, updated=1_000)
    tvmaze.change_show(2, name="Renamed")
    assert httpx.get(f"{tvmaze.url}/updates/shows?since=day").json() == {"2": 2_000_000_000}
    assert set(httpx.get(f"{tvmaze.url}/updates/shows").json()) == {"1", "2"}
    assert httpx.get(f"{tvmaze.url}/updates/shows?since=year").status_code == 400


def test_tvmaze_rate_limit(tvmaze: FakeTvmaze) -> None:
    tvmaze.send_retry_after = True
    with httpx.Client(timeout=5) as client:
        codes = [client.get(f"{tvmaze.url}/shows/1").status_code for _ in range(21)]
        assert codes[:20] == [404] * 20 and codes[20] == 429
        other = client.get(f"{tvmaze.url}/shows/1", headers={"X-Forwarded-For": "10.0.0.2"})
        assert other.status_code == 404
        last = client.get(f"{tvmaze.url}/shows/1")
    assert last.json()["status"] == 429 and int(last.headers["Retry-After"]) >= 1
    assert tvmaze.rate_limited == 2


def test_serve_runner_prints_url() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.serve",
            "--provider",
            "tvmaze",
            "--port",
            "0",
            "--demo",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert httpx.get(f"{url}/shows/82").json()["externals"]["thetvdb"] == 121361
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()
