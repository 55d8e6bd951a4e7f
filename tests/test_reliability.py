"""Faults injected into the fake APIs: retries per request, failing items, aborted runs, and secrets.

Every scenario runs the real CLI against a real HTTP server on 127.0.0.1 and reads the SQLite file
back. Back-off is shortened by the autouse fixture (SERIESDATA_BACKOFF=0.01), so retries cost nothing.
"""

from __future__ import annotations

import json
import random
import socket
import sqlite3
from datetime import datetime, timedelta
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from seriesdata.providers.http import retry_after
from tests.fakes.base import CLOUDFRONT_504, HTML_200, HTML_CT, MALFORMED_JSON, NGINX_502
from tests.fakes.tvdb_server import FakeTvdb
from tests.fakes.tvmaze_server import FakeTvmaze
from tests.helpers import API_KEY, Result, cli, dump, query

SERIES = (81189, 121361, 78878)
BB = r"/series/81189/extended"  # Breaking Bad's one request for its own data


def catalogue(tvdb: FakeTvdb, ids: tuple[int, ...] = SERIES, unknown: tuple[int, ...] = ()) -> None:
    for tvdb_id in ids:
        tvdb.add_series(tvdb_id, episodes=2)
    assert cli("add", "series", *map(str, unknown + ids)).exit_code == 0


def item(db: Path, tvdb_id: int) -> dict:
    row = query(
        db,
        "SELECT id, attempts, last_error, next_attempt_at, not_found_at, data_last_updated_at, name"
        " FROM series WHERE tvdb_id = ?",
        (tvdb_id,),
    )[0]
    keys = ("id", "attempts", "last_error", "next_attempt_at", "not_found_at", "updated", "name")
    return dict(zip(keys, row, strict=True))


def item_logs(db: Path, tvdb_id: int) -> list[tuple]:
    return query(
        db,
        "SELECT l.status, l.exception FROM job_logs l JOIN series s ON s.id = l.loggable_id"
        " WHERE l.loggable_type = 'series' AND s.tvdb_id = ? ORDER BY l.id",
        (tvdb_id,),
    )


def run_row(db: Path, run_id: int) -> tuple:
    return query(db, "SELECT status, message, exception, context FROM job_logs WHERE id = ?", (run_id,))[0]


def import_series(*args: str) -> tuple[Result, dict]:
    result = cli("import-missing", "series", "--json", *args)
    assert "Traceback" not in result.stderr
    return result, result.json()


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# --- retries per request -------------------------------------------------------------------------

TRANSIENT = {
    "500 json": {"status": 500, "body": '{"status":"failure","message":"Internal Server Error","data":null}'},
    "502 html": {"status": 502, "body": NGINX_502, "content_type": HTML_CT},
    "503 plain": {"status": 503, "body": "busy", "content_type": "text/plain"},
    "504 html": {"status": 504, "body": CLOUDFRONT_504, "content_type": HTML_CT},
    "429 no retry-after": {"status": 429, "body": '{"status":"failure","message":"Too Many Requests"}'},
    "429 retry-after 0": {"status": 429, "body": "{}", "headers": {"Retry-After": "0"}},
}


@pytest.mark.parametrize("fault", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_answers_are_retried_and_the_item_imported(
    fault: dict, with_tvdb: FakeTvdb, db_path: Path
) -> None:
    catalogue(with_tvdb)
    times = 1 if "Retry-After" not in fault.get("headers", {}) and fault["status"] == 429 else 2  # 2 s each
    with_tvdb.fail_next(BB, times=times, **fault)

    result, report = import_series()

    assert result.exit_code == 0, result.stderr
    assert (report["imported"], report["failed"]) == (3, 0)
    assert with_tvdb.count(BB) == times + 1  # the faults, then the answer
    assert item(db_path, 81189)["attempts"] == 0 and item(db_path, 81189)["updated"] is not None


@pytest.mark.parametrize("fault", ["500 json", "502 html", "504 html"])
def test_retries_are_bounded_and_the_failure_reads_well(
    fault: str, with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERIESDATA_RETRIES", "3")
    catalogue(with_tvdb)
    with_tvdb.fail_next(BB, times=100, **TRANSIENT[fault])

    result, report = import_series()

    assert result.exit_code == 1
    assert (report["status"], report["imported"], report["failed"]) == ("partial", 2, 1)
    assert with_tvdb.count(BB) == 3
    status = TRANSIENT[fault]["status"]
    reason = f"127.0.0.1 unavailable: HTTP {status} from /v4/series/81189/extended after 3 attempts"
    bad = item(db_path, 81189)
    # One item failing among healthy ones is not an outage: it is charged and backs off.
    assert (bad["attempts"], bad["last_error"], bad["updated"]) == (1, reason, None)
    assert item_logs(db_path, 81189) == [("failed", reason)]
    assert report["deferred"] == 1 and report["remaining"] == 0


def test_retry_after_seconds_is_honoured(with_tvdb: FakeTvdb, db_path: Path) -> None:
    catalogue(with_tvdb, (81189,))
    with_tvdb.fail_next(BB, 429, body="{}", headers={"Retry-After": "1"})

    result, _ = import_series()

    assert result.exit_code == 0
    first, second = with_tvdb.hits(BB)
    assert second.at - first.at >= 0.95


def test_retry_after_http_date_is_honoured(
    with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERIESDATA_RETRIES", "2")
    catalogue(with_tvdb, (81189,))
    with_tvdb.set_faults(rate_429=1.0, retry_after="date", retry_after_date_seconds=2)
    with_tvdb.fail_next(r"/series/81189/episodes", 200, body='{"status":"success","data":null}')

    first = cli("import-missing", "series", "--json")

    # Every answer is a 429 with a date 2 s ahead: each retry waits for it (date precision: 1 s).
    hits = with_tvdb.hits(BB)
    assert first.exit_code == 1 and len(hits) == 2
    assert all(b.at - a.at >= 0.9 for a, b in zip(hits, hits[1:], strict=False))
    assert "rate limited (HTTP 429)" in item(db_path, 81189)["last_error"]


def test_retry_after_parsing() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    now = 1_700_000_000.0
    assert retry_after(answer("7"), now=lambda: now) == 7
    assert retry_after(answer(formatdate(now + 30, usegmt=True)), now=lambda: now) == pytest.approx(30)
    assert retry_after(answer(formatdate(now - 30, usegmt=True)), now=lambda: now) == 0
    assert retry_after(answer("soon"), now=lambda: now) is None
    assert retry_after(httpx.Response(429), now=lambda: now) is None


def first_draws_seed(pattern: list[bool], rate: float) -> int:
    """A seed whose first draws fall under `rate` (True = fault) exactly as `pattern` says."""
    for seed in range(10_000):
        rng = random.Random(seed)
        if all((rng.random() < rate) == fault for fault in pattern):
            return seed
    raise AssertionError("no seed found")


def test_timeout_is_retried(with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERIESDATA_TIMEOUT", "0.3")
    monkeypatch.setenv("SERIESDATA_WORKERS", "1")
    catalogue(with_tvdb, (81189,))
    cli("init")
    seed = first_draws_seed([True, False, False], 0.5)  # series read times out once, then fine
    with_tvdb.set_faults(seed=seed, timeout_rate=0.5, timeout_seconds=1.5)

    result, report = import_series()

    assert result.exit_code == 0, result.stderr
    assert report["imported"] == 1
    assert report["api_requests"] == 4  # login, the read that timed out, its retry, the episode list


def test_timeouts_that_last_abort_the_run_without_charging(
    with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERIESDATA_TIMEOUT", "0.2")
    monkeypatch.setenv("SERIESDATA_RETRIES", "2")
    monkeypatch.setenv("SERIESDATA_WORKERS", "1")
    ids = tuple(range(1001, 1011))
    catalogue(with_tvdb, ids)
    assert cli("import-missing", "series", "--limit", "1").exit_code == 0  # logs in, stores the token
    with_tvdb.set_faults(timeout_rate=1.0, timeout_seconds=1.0)

    result, report = import_series()

    assert result.exit_code == 1
    assert report["status"] == "failed" and report["processed"] == 3
    assert "provider unreachable" in report["reason"] and "timed out after 2 attempts" in report["reason"]
    assert query(db_path, "SELECT max(attempts), count(next_attempt_at) FROM series") == [(0, 0)]


# --- malformed or unexpected answers: the item fails, the run goes on --------------------------------


def envelope(data: object) -> str:
    return json.dumps({"status": "success", "data": data})


GOOD_SERIES = {"id": 81189, "name": "Breaking Bad", "originalLanguage": "eng", "translations": {}}
MALFORMED = {
    "invalid json": (200, MALFORMED_JSON, "application/json", "invalid JSON body"),
    "html 200": (200, HTML_200, HTML_CT, "expected JSON, got text/html"),
    "no content type": (200, "garbage", None, "expected JSON, got no content type"),
    "json null": (200, "null", "application/json", "not a success envelope"),
    "failure envelope": (200, '{"status":"failure"}', "application/json", "not a success envelope"),
    "missing data": (200, '{"status":"success"}', "application/json", "missing field 'data'"),
    "data is a list": (200, envelope([]), "application/json", "field 'data' is list"),
    "name is a number": (200, envelope({**GOOD_SERIES, "name": 5}), "application/json", "'name' is int"),
    "language is a list": (
        200, envelope({**GOOD_SERIES, "originalLanguage": ["eng"]}), "application/json",
        "'originalLanguage' is list",
    ),
    "translations wrong": (
        200, envelope({**GOOD_SERIES, "translations": {"nameTranslations": "x"}}), "application/json",
        "'nameTranslations' is str",
    ),
    "400 with message": (
        400, '{"status":"failure","message":"InvalidValueType: meta"}', "application/json",
        "HTTP 400 for /v4/series/81189/extended: InvalidValueType: meta",
    ),
    "403": (403, "forbidden", "text/plain", "HTTP 403 for /v4/series/81189/extended"),
}  # fmt: skip


@pytest.mark.parametrize("answer", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_answer_fails_the_item_only(answer: tuple, with_tvdb: FakeTvdb, db_path: Path) -> None:
    status, body, content_type, reason = answer
    catalogue(with_tvdb)
    with_tvdb.fail_next(BB, status, body=body, content_type=content_type)
    started = datetime.utcnow().replace(microsecond=0)

    result, report = import_series()

    assert result.exit_code == 1
    assert (report["status"], report["imported"], report["failed"]) == ("partial", 2, 1)
    assert with_tvdb.count(BB) == 1  # a well-delivered bad answer is not asked again
    bad = item(db_path, 81189)
    assert reason in bad["last_error"] and bad["attempts"] == 1 and bad["updated"] is None
    assert bad["name"] is None  # nothing half-written
    retry_at = datetime.fromisoformat(bad["next_attempt_at"])
    assert started + timedelta(minutes=29) <= retry_at <= started + timedelta(minutes=31)
    ((log_status, exception),) = item_logs(db_path, 81189)
    assert log_status == "failed" and reason in exception


def test_malformed_episode_list_falls_back_to_single_reads(with_tvdb: FakeTvdb, db_path: Path) -> None:
    catalogue(with_tvdb, (81189,))
    with_tvdb.add_series(81189, episodes=6)
    cli("import-missing", "series")
    with_tvdb.fail_next(r"/series/81189/episodes/default$", 200, body=envelope({"episodes": "x"}))
    with_tvdb.fail_next(r"/episodes/\d+/extended", 200, body=HTML_200, content_type=HTML_CT)

    result = cli("import-missing", "episodes", "--json")

    report = result.json()
    assert (report["imported"], report["failed"]) == (5, 1)
    ((error,),) = query(db_path, "SELECT last_error FROM episodes WHERE last_error IS NOT NULL")
    assert "expected JSON, got text/html" in error


def test_tvmaze_malformed_answers_fail_items_only(with_tvmaze: FakeTvmaze, db_path: Path) -> None:
    with_tvmaze.generate(shows=4, episodes_per_show=2)
    cli("add", "series", "100001", "100002", "100003", "100004")
    with_tvmaze.fail_next(r"/shows/10001$", 200, body=HTML_200, content_type=HTML_CT)
    with_tvmaze.fail_next(r"/shows/10002$", 200, body=MALFORMED_JSON)
    with_tvmaze.fail_next(r"/shows/10003$", 502, body=NGINX_502, content_type=HTML_CT)

    result, report = import_series()

    assert (report["imported"], report["failed"], result.exit_code) == (2, 2, 1)
    errors = query(db_path, "SELECT tvdb_id, attempts, last_error FROM series WHERE last_error IS NOT NULL")
    assert errors == [
        (100001, 1, "malformed response from /shows/10001: expected JSON, got text/html"),
        (100002, 1, "malformed response from /shows/10002: invalid JSON body"),
    ]
    assert [hit.status for hit in with_tvmaze.hits() if hit.path == "/shows/10003"] == [502, 200]


# --- failing items never block a batch -----------------------------------------------------------


def test_failing_items_do_not_block_the_next_batches(with_tvdb: FakeTvdb, db_path: Path) -> None:
    good = (1003, 1004, 1005, 1006)
    catalogue(with_tvdb, good, unknown=(1001, 1002))  # the first two rows: unknown upstream

    runs = [import_series("--limit", "3")[1] for _ in range(3)]

    assert [(r["processed"], r["imported"], r["failed"]) for r in runs] == [(3, 1, 2), (3, 3, 0), (0, 0, 0)]
    assert [(r["remaining"], r["deferred"]) for r in runs] == [(3, 2), (0, 2), (0, 2)]
    assert [r["status"] for r in runs] == ["partial", "success", "success"]
    assert with_tvdb.count("/series/1001/") == 1  # not asked again while it waits out its delay
    for unknown in (1001, 1002):
        row = item(db_path, unknown)
        assert row["attempts"] == 1 and row["not_found_at"] is not None
        assert row["last_error"] == f"not found upstream (HTTP 404 for /v4/series/{unknown}/extended)"
        retry_at = datetime.fromisoformat(row["next_attempt_at"])
        assert retry_at - datetime.fromisoformat(row["not_found_at"]) == timedelta(days=7)

    # --retry-failed takes them at once: one is there now, the other still is not.
    with_tvdb.add_series(1001, episodes=1)
    result, report = import_series("--retry-failed")
    assert (report["processed"], report["imported"], report["failed"]) == (2, 1, 1)
    assert (report["remaining"], report["deferred"], result.exit_code) == (0, 1, 1)
    again = item(db_path, 1002)
    assert again["attempts"] == 2
    assert datetime.fromisoformat(again["next_attempt_at"]) - datetime.fromisoformat(
        again["not_found_at"]
    ) == timedelta(days=14)


def test_back_off_grows_with_each_failure(with_tvdb: FakeTvdb, db_path: Path) -> None:
    catalogue(with_tvdb, (81189,))
    delays = []
    for _ in range(4):
        with_tvdb.fail_next(BB, 200, body=HTML_200, content_type=HTML_CT)
        cli("import-missing", "series", "--retry-failed")
        row = query(db_path, "SELECT last_attempt_at, next_attempt_at FROM series")[0]
        delays.append(datetime.fromisoformat(row[1]) - datetime.fromisoformat(row[0]))

    assert delays == [timedelta(minutes=30 * 2**n) for n in range(4)]
    assert item(db_path, 81189)["attempts"] == 4
    assert cli("import-missing", "series", "--retry-failed").exit_code == 0
    assert item(db_path, 81189)["attempts"] == 0 and item(db_path, 81189)["last_error"] is None


def test_dry_run_counts_deferred_items(with_tvdb: FakeTvdb, db_path: Path) -> None:
    catalogue(with_tvdb, (81189,), unknown=(9,))
    cli("import-missing", "series", "--limit", "0")
    cli("add", "series", "121361")

    report = cli("import-missing", "series", "--dry-run", "--json").json()
    retry = cli("import-missing", "series", "--dry-run", "--retry-failed", "--json").json()

    assert (report["selected"], report["remaining"], report["deferred"]) == (1, 1, 1)
    assert retry["selected"] == 2


# --- failures that are not the item's fault ------------------------------------------------------


def assert_nothing_charged(db: Path) -> None:
    assert query(db, "SELECT max(attempts), count(next_attempt_at), count(not_found_at) FROM series") == [
        (0, 0, 0)
    ]


def test_refused_key_aborts_before_any_item(
    with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue(with_tvdb)
    monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", "not-the-key")

    result, report = import_series()

    assert result.exit_code == 1
    assert (report["status"], report["processed"], report["remaining"]) == ("failed", 0, 3)
    assert report["reason"] == "aborted: TheTVDB refused the API key (HTTP 401 at login)"
    assert with_tvdb.count("/series") == 0
    assert_nothing_charged(db_path)
    assert query(db_path, "SELECT count(*) FROM job_logs WHERE loggable_id IS NOT NULL") == [(0,)]
    status, message, exception, _ = run_row(db_path, report["job_log_id"])
    assert status == "failed" and "refused the API key" in message and "refused" in exception
    text = cli("import-missing", "series")
    assert "refused the API key" in text.stderr and text.exit_code == 1


def test_key_refused_mid_run_charges_nobody(
    with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue(with_tvdb, (81189,))
    cli("import-missing", "series")
    cli("add", "series", "121361", "78878")
    with_tvdb.expire_tokens()  # the stored token is refused, and so is the key when we log in again
    monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", "revoked-key")

    result, report = import_series()

    assert result.exit_code == 1 and report["status"] == "failed"
    assert "refused the API key" in report["reason"]
    assert_nothing_charged(db_path)


def test_login_answering_500_is_an_outage_not_a_refusal(with_tvdb: FakeTvdb, db_path: Path) -> None:
    catalogue(with_tvdb)
    with_tvdb.fail_next(r"/login$", 500, times=100)

    result, report = import_series()

    assert result.exit_code == 1 and report["processed"] == 0
    assert report["reason"].startswith("aborted: 127.0.0.1 unavailable: HTTP 500")
    assert_nothing_charged(db_path)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_provider_aborts_and_charges_nobody(
    with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = tuple(range(1001, 1021))
    catalogue(with_tvdb, ids)
    assert cli("import-missing", "series", "--limit", "1").exit_code == 0  # token stored: items are tried
    monkeypatch.setenv("SERIESDATA_TVDB_URL", f"http://127.0.0.1:{closed_port()}/v4")
    monkeypatch.setenv("SERIESDATA_WORKERS", "2")

    result, report = import_series()

    assert result.exit_code == 1
    assert report["status"] == "failed" and report["imported"] == 0
    assert 3 <= report["processed"] <= 5  # aborted after three in a row (a worker may be finishing one)
    assert report["reason"].startswith("aborted: provider unreachable (127.0.0.1 unavailable: connection")
    assert report["remaining"] == 19 and report["deferred"] == 0
    assert_nothing_charged(db_path)
    tried = query(db_path, "SELECT count(*) FROM series WHERE last_error IS NOT NULL")[0][0]
    assert tried == report["processed"]  # the untried rows are untouched
    status, message, exception, _ = run_row(db_path, report["job_log_id"])
    assert status == "failed" and "provider unreachable" in message and "unreachable" in exception


def test_unreachable_before_login_aborts_with_no_item_tried(db_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", API_KEY)
    monkeypatch.setenv("SERIESDATA_TVDB_URL", f"http://127.0.0.1:{closed_port()}/v4")
    cli("add", "series", "81189", "121361")

    result, report = import_series()

    assert result.exit_code == 1 and report["processed"] == 0
    assert "unavailable: connection failed" in report["reason"]
    assert query(db_path, "SELECT count(*) FROM series WHERE last_error IS NOT NULL") == [(0,)]


def test_outage_with_fewer_items_than_the_threshold_charges_nobody(
    with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue(with_tvdb, (81189,))
    cli("import-missing", "series")  # token stored
    cli("add", "series", "121361", "78878")
    monkeypatch.setenv("SERIESDATA_TVDB_URL", f"http://127.0.0.1:{closed_port()}/v4")

    result, report = import_series()

    assert result.exit_code == 1
    assert (report["status"], report["processed"], report["failed"]) == ("failed", 2, 2)
    assert report["reason"].startswith("aborted: provider unreachable (127.0.0.1 unavailable")
    assert (report["remaining"], report["deferred"]) == (2, 0)
    assert_nothing_charged(db_path)


def test_gateway_answering_502_to_everything_aborts(with_tvdb: FakeTvdb, db_path: Path) -> None:
    catalogue(with_tvdb, tuple(range(1001, 1011)))
    cli("import-missing", "series", "--limit", "1")
    with_tvdb.set_faults(html_502_rate=1.0, include_login=True)

    result, report = import_series()

    assert result.exit_code == 1 and report["imported"] == 0
    assert "provider unreachable" in report["reason"] and "HTTP 502" in report["reason"]
    assert report["processed"] < 9
    assert_nothing_charged(db_path)


def test_outage_interrupts_until_done(with_tvdb: FakeTvdb, db_path: Path) -> None:
    catalogue(with_tvdb, tuple(range(1001, 1011)))
    cli("import-missing", "series", "--limit", "1")
    with_tvdb.set_faults(error_rate=1.0)

    result = cli("import-missing", "series", "--until-done", "--limit", "2", "--json")

    runs = result.json_lines()
    assert len(runs) == 1 and runs[0]["status"] == "failed" and result.exit_code == 1


# --- the acceptance scenario ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_flaky_server_repeated_runs_import_everything(
    seed: int, with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10% 500s, 5% 429s, 5% HTML 502s: runs import all the server knows, record what it does not."""
    # 20% of requests fail: with 4 tries one request in 625 still fails all of them, and which one
    # depends on how the threads interleave; 8 tries make that one in 390,625, so the test is stable.
    monkeypatch.setenv("SERIESDATA_RETRIES", "8")
    known = with_tvdb.generate(series=25, episodes_per_series=6, specials=0)
    unknown = (9001, 9002, 9003)
    cli("add", "series", *map(str, known + list(unknown)))
    with_tvdb.set_faults(
        seed=seed, error_rate=0.10, rate_429=0.05, retry_after=0, html_502_rate=0.05, include_login=True
    )

    reports = []
    for job in ["series"] * 3 + ["episodes"] * 4:
        result = cli("import-missing", job, "--limit", "0", "--json")
        assert "Traceback" not in result.stderr
        reports.append(result.json())

    assert all("reason" not in r for r in reports), reports  # never taken for an outage
    assert query(db_path, "SELECT count(*) FROM series WHERE data_last_updated_at IS NULL") == [(3,)]
    assert query(db_path, "SELECT count(*), count(data_last_updated_at) FROM episodes") == [(150, 150)]
    assert query(db_path, "SELECT tvdb_id FROM series WHERE not_found_at IS NOT NULL ORDER BY 1") == [
        (i,) for i in unknown
    ]
    assert query(db_path, "SELECT count(*) FROM series WHERE attempts > 0 AND not_found_at IS NULL") == [(0,)]
    faults = sum(1 for hit in with_tvdb.hits() if hit.status in (429, 500, 502))
    assert faults > 10  # the faults did happen, and were all absorbed by retries


# --- secrets -------------------------------------------------------------------------------------

KEY = "sk-DISTINCT-4f2a9c7e"
PIN = "PIN-88317"


def test_key_and_pin_never_leak(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    echo = f"apikey {KEY} with pin {PIN} is wrong"
    with FakeTvdb(api_key=KEY, pin=PIN) as tvdb:
        monkeypatch.setenv("SERIESDATA_TVDB_URL", tvdb.url)
        monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", KEY)
        monkeypatch.setenv("SERIESDATA_TVDB_PIN", PIN)
        monkeypatch.setenv("SERIESDATA_TVDB_RATE_LIMIT", "0")
        monkeypatch.setenv("SERIESDATA_RETRIES", "2")
        for tvdb_id in (81189, 121361, 78878, 264492):
            tvdb.add_series(tvdb_id, episodes=2)
        outputs = [cli("--verbose", "add", "series", "81189", "121361", "78878", "264492", "1")]
        # The login echoes the key and PIN in its 401, then the items' answers do, in every shape.
        tvdb.fail_next(r"/login$", 401, body=json.dumps({"status": "failure", "message": echo}))
        outputs.append(cli("--verbose", "import-missing", "series"))
        tvdb.fail_next(r"/series/81189/extended", 400, body=json.dumps({"message": echo}))
        tvdb.fail_next(r"/series/121361/extended", 500, times=5, body=json.dumps({"message": echo}))
        tvdb.fail_next(r"/series/78878/extended", 200, body=f"<html>{echo}</html>", content_type=HTML_CT)
        tvdb.fail_next(r"/series/1/extended", 404, body=json.dumps({"message": echo}))
        outputs.append(cli("--verbose", "import-missing", "series", "--json"))
        outputs.append(cli("--verbose", "import-missing", "series", "--retry-failed"))
        outputs.append(cli("--verbose", "import-missing", "episodes", "--dry-run", "--json"))
        monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", KEY + "-wrong")
        tvdb.expire_tokens()
        tvdb.fail_next(r"/login$", 401, body=json.dumps({"message": f"{KEY}-wrong / {PIN}"}))
        outputs.append(cli("--verbose", "import-missing", "episodes"))
        for report in (["config", "show"], ["status"], ["logs"], ["list", "series", "--failed"]):
            outputs += [cli("--verbose", *report), cli("--verbose", "--json", *report)]
        outputs.append(cli("--verbose", "--provider", "tvdb", "--db", str(tmp_path), "init"))

    assert any(o.exit_code == 1 for o in outputs) and any(o.exit_code == 0 for o in outputs)
    assert any("refused the API key" in o.stderr for o in outputs)
    for output in outputs:
        for text in (output.stdout, output.stderr):
            assert KEY not in text and PIN not in text
    assert "HTTP 400 for /v4/series/81189/extended: apikey *** with pin *** is wrong" in [
        row[0] for row in query(db_path, "SELECT exception FROM job_logs")
    ]
    everything = "\n".join(dump(db_path))  # every TEXT column of every table
    assert KEY not in everything and PIN not in everything
    for path in tmp_path.rglob("*"):  # lock files, WAL, anything written next to the database
        if path.is_file():
            assert KEY.encode() not in path.read_bytes() and PIN.encode() not in path.read_bytes(), path


def locked_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rate limiter's own connection finds the database locked (another writer outlasted the wait)."""
    from seriesdata.ratelimit import RateLimiter

    def locked(self: RateLimiter) -> float:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(RateLimiter, "_read_cooldown", locked)


def test_database_locked_in_a_worker_aborts_and_charges_nobody(
    with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue(with_tvdb, tuple(range(1001, 1011)))
    assert cli("import-missing", "series", "--limit", "1").exit_code == 0  # token stored: items are tried
    locked_limiter(monkeypatch)

    result, report = import_series()

    assert result.exit_code == 1 and report["status"] == "failed" and report["imported"] == 0
    assert report["reason"].startswith("aborted: ") and "is locked" in report["reason"]
    assert report["processed"] < 9  # the first failure stops the run
    assert_nothing_charged(db_path)
    contexts = query(db_path, "SELECT context FROM job_logs WHERE run_id = ?", (report["job_log_id"],))
    assert contexts and not any(json.loads(context)["charged"] for (context,) in contexts)


def test_database_locked_before_the_first_item_fails_the_run_row(
    with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue(with_tvdb)
    locked_limiter(monkeypatch)  # the login, before any item, cannot be counted

    result, report = import_series()

    assert result.exit_code == 1 and (report["status"], report["processed"]) == ("failed", 0)
    assert "is locked" in report["reason"]
    assert run_row(db_path, report["job_log_id"])[0] == "failed"  # not left `started`
    assert_nothing_charged(db_path)
