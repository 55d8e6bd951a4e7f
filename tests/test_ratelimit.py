"""The rate limiter and the 429 handling around it, with an injected clock (no sleeping) where possible.

Two RateLimiter objects on one database file stand for two processes: each has its own connection,
exactly as two seriesdata runs would.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from seriesdata.config import Settings, load_settings
from seriesdata.errors import ConfigError, ProviderUnavailable
from seriesdata.providers.http import Api, RetryPolicy
from seriesdata.ratelimit import MARGIN_SECONDS, Limit, RateLimiter
from seriesdata.storage.db import close_database, open_database
from tests.helpers import cli, query

T0 = 1_700_000_000.0


class Clock:
    """A wall clock that moves only when told to, or when someone waits on `stop`."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ClockStop(threading.Event):
    """A stop event whose waits advance the fake clock instead of sleeping."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        self.clock.now += timeout or 0.0
        return self.is_set()


@pytest.fixture
def db(db_path: Path) -> Iterator[Path]:
    open_database(db_path)
    close_database()
    yield db_path


def limiter(db: Path | None, clock: Clock, limit: str = "3/10", **kwargs: float) -> RateLimiter:
    return RateLimiter("tvmaze", Limit.parse(limit), db, clock=clock, margin=0.0, **kwargs)


# --- Limit and its settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("20/10", Limit(20, 10)), (" 5/0.5 ", Limit(5, 0.5)), ("0", Limit(0, 0)), ("0/10", Limit(0, 10))],
)
def test_limit_parse(text: str, expected: Limit) -> None:
    assert Limit.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "20", "abc", "20/", "/10", "1.5/10", "-1/10", "20/0", "20/-1", "20/nan", "20/inf"]
)
def test_limit_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Limit.parse(text)


def test_defaults_are_20_per_10_s_for_tvmaze_and_100_per_10_s_for_tvdb() -> None:
    settings = Settings()
    assert (str(settings.tvmaze_rate_limit), str(settings.tvdb_rate_limit)) == ("20/10", "100/10")


def test_rate_limits_are_configured_per_provider(tmp_path: Path) -> None:
    env = {"SERIESDATA_TVMAZE_RATE_LIMIT": "5/1", "SERIESDATA_TVDB_RATE_LIMIT": "0"}
    settings = load_settings(env=env)
    assert settings.tvmaze_rate_limit == Limit(5, 1) and settings.tvdb_rate_limit == Limit(0, 0)
    assert settings.sources["tvmaze_rate_limit"] == "SERIESDATA_TVMAZE_RATE_LIMIT"
    config = tmp_path / "config.toml"
    config.write_text('tvdb_rate_limit = "50/10"\ntvmaze_rate_limit = 0\n')
    settings = load_settings(env={}, config_file=config)
    assert settings.tvdb_rate_limit == Limit(50, 10) and settings.tvmaze_rate_limit == Limit(0, 0)


@pytest.mark.parametrize("variable", ["SERIESDATA_TVMAZE_RATE_LIMIT", "SERIESDATA_TVDB_RATE_LIMIT"])
@pytest.mark.parametrize("value", ["20", "fast", "20/0", "1.5/10"])
def test_a_bad_rate_limit_is_a_usage_error_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env={variable: value})
    assert variable in str(raised.value) and "COUNT/SECONDS" in str(raised.value)


def test_a_bad_rate_limit_exits_2_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, db_path: Path
) -> None:
    monkeypatch.setenv("SERIESDATA_TVMAZE_RATE_LIMIT", "20 per 10")
    result = cli("import-missing", "series")
    assert result.exit_code == 2
    assert "SERIESDATA_TVMAZE_RATE_LIMIT" in result.stderr and "Traceback" not in result.stderr
    assert not db_path.exists()


def test_bad_rate_limit_in_config_file_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('tvmaze_rate_limit = "twenty"\n')
    with pytest.raises(ConfigError, match=r"tvmaze_rate_limit 'twenty' in config file .*config.toml"):
        load_settings(env={}, config_file=config)


# --- the sliding window ------------------------------------------------------------------------------


@pytest.mark.parametrize("shared", [True, False], ids=["database", "memory"])
def test_the_window_slides(db: Path, shared: bool) -> None:
    clock = Clock()
    rl = limiter(db if shared else None, clock)
    assert [rl.try_acquire() for _ in range(3)] == [0, 0, 0]
    clock.now += 4
    assert rl.try_acquire() == pytest.approx(6.001)  # until the first request is 10 s old
    clock.now += 6.001  # all three are older than 10 s now
    assert [rl.try_acquire() for _ in range(3)] == [0, 0, 0]
    assert rl.try_acquire() == pytest.approx(10.001)
    rl.close()


def test_the_margin_widens_the_window(db: Path) -> None:
    clock = Clock()
    rl = RateLimiter("tvmaze", Limit(1, 10), db, clock=clock)
    assert rl.try_acquire() == 0
    assert rl.try_acquire() == pytest.approx(10 + MARGIN_SECONDS + 0.001)


def test_acquire_sleeps_exactly_until_a_slot_frees(db: Path) -> None:
    clock = Clock()
    rl, stop = limiter(db, clock, "2/10"), ClockStop(clock)
    for _ in range(3):
        rl.acquire(stop)
    assert sum(stop.waits) == pytest.approx(10, abs=0.002)  # in slices, to notice other processes
    assert max(stop.waits) <= 5


def test_two_processes_share_one_window(db: Path) -> None:
    clock = Clock()
    first, second = limiter(db, clock), limiter(db, clock)
    assert first.try_acquire() == 0 and second.try_acquire() == 0 and first.try_acquire() == 0
    assert second.try_acquire() > 0 and first.try_acquire() > 0


def test_a_process_run_right_after_another_waits_for_its_requests(db: Path) -> None:
    clock = Clock()
    first = limiter(db, clock)
    for _ in range(3):
        first.try_acquire()
    first.close()
    clock.now += 1  # the next process starts a second later
    assert limiter(db, clock).try_acquire() == pytest.approx(9.001)


@pytest.mark.parametrize("shared", [True, False], ids=["database", "memory"])
def test_an_answered_request_counts_from_its_answer(db: Path, shared: bool) -> None:
    """The server saw a request between sending and answer: a slow one holds its slot until
    a window after the answer, so no later request can look closer to the server than the limit."""
    clock = Clock()
    rl = limiter(db if shared else None, clock, "1/10")
    ticket = rl.acquire(ClockStop(clock))
    clock.now += 4  # the answer took 4 s
    rl.done(ticket)
    clock.now += 7  # 11 s after sending, 7 after the answer
    assert rl.try_acquire() == pytest.approx(3.001)


def test_api_marks_every_attempt_done(db: Path) -> None:
    clock = Clock()
    api, sent = api_with(db, clock, [httpx.Response(503), httpx.Response(200, json={})], latency=0.5)
    api.get_json("shows/1")
    assert len(sent) == 2
    assert query(db, "SELECT at FROM api_requests ORDER BY at") == [(sent[0] + 0.5,), (sent[1] + 0.5,)]


def test_a_limit_lowered_since_waits_for_enough_rows_to_leave(db: Path) -> None:
    clock = Clock()
    old = limiter(db, clock, "6/10")
    for _ in range(6):
        old.try_acquire()
        clock.now += 1
    clock.now -= 1  # rows at T0 .. T0+5, now T0+5
    # Two of six may stay: the row at T0+4 must leave, not just the oldest.
    assert limiter(db, clock, "2/10").try_acquire() == pytest.approx(4 + 10 - 5 + 0.001)


def test_a_clock_that_stepped_back_waits_at_most_one_window(db: Path) -> None:
    clock = Clock()
    rl = limiter(db, clock)
    for _ in range(3):
        rl.try_acquire()
    clock.now -= 3600  # NTP stepped the clock back an hour
    assert 0 < rl.try_acquire() <= 10.001
    memory = limiter(None, clock := Clock())
    for _ in range(3):
        memory.try_acquire()
    clock.now -= 3600
    assert 0 < memory.try_acquire() <= 10.001


def test_old_rows_are_cleaned_up(db: Path) -> None:
    clock = Clock()
    rl = limiter(db, clock)
    for _ in range(50):
        rl.acquire(ClockStop(clock))
    assert query(db, "SELECT count(*) FROM api_requests")[0][0] <= 3


def test_no_limit_records_nothing(db: Path) -> None:
    rl = limiter(db, Clock(), "0")
    assert all(rl.try_acquire() == 0 for _ in range(100))
    assert query(db, "SELECT count(*) FROM api_requests") == [(0,)]


def test_the_limiter_waits_busy_timeout_for_a_locked_database(db: Path) -> None:
    """Its own connection waits as long as the writer's (SERIESDATA_BUSY_TIMEOUT), not a fixed time."""
    from seriesdata.providers import close_provider, make_provider

    settings = load_settings({"provider": "tvmaze"}, env={"SERIESDATA_BUSY_TIMEOUT": "0.2"})
    provider = make_provider(settings, db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            provider.api.limiter.acquire()  # type: ignore[attr-defined]
        assert time.monotonic() - started < 5
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        close_provider(provider)


def test_workers_waking_together_never_exceed_the_limit(db: Path) -> None:
    """Real threads and real time: 6 workers, 24 requests, at most 4 in any 0.2 s."""
    import time

    local = threading.local()

    def clock() -> float:
        local.now = time.time()
        return local.now

    rl = RateLimiter("tvmaze", Limit(4, 0.2), db, clock=clock, margin=0.0)
    taken: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(4):
            rl.acquire()
            with lock:
                taken.append(local.now)  # the time the slot was taken at

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    taken.sort()
    assert len(taken) == 24
    assert min(later - earlier for earlier, later in zip(taken, taken[4:], strict=False)) >= 0.2


# --- cool-downs -----------------------------------------------------------------------------------


def test_a_cool_down_is_kept_for_the_next_process(db: Path) -> None:
    clock = Clock()
    limiter(db, clock).cool_down(3)
    clock.now += 1
    nxt = limiter(db, clock)
    assert nxt.try_acquire() == pytest.approx(2)
    clock.now += 2
    assert nxt.try_acquire() == 0
    assert float(query(db, "SELECT value FROM provider_state WHERE key = 'cooldown_until'")[0][0]) == T0 + 3


def test_a_shorter_cool_down_never_shortens_a_longer_one(db: Path) -> None:
    clock = Clock()
    limiter(db, clock).cool_down(30)
    limiter(db, clock).cool_down(5)
    assert limiter(db, clock).try_acquire() == pytest.approx(30)


def test_a_long_cool_down_fails_fast_instead_of_sleeping(db: Path) -> None:
    clock = Clock()
    limiter(db, clock).cool_down(3600)
    with pytest.raises(ProviderUnavailable, match="cooling down until"):
        limiter(db, clock).acquire(ClockStop(clock))


def test_a_long_window_is_waited_out_not_failed(db: Path) -> None:
    clock = Clock()
    rl = limiter(db, clock, "1/3600")
    rl.try_acquire()
    assert rl.try_acquire() == pytest.approx(3600.001)


# --- 429 through Api ----------------------------------------------------------------------------


def api_with(
    db: Path, clock: Clock, answers: list[httpx.Response], latency: float = 0.0
) -> tuple[Api, list[float]]:
    """An Api whose transport plays `answers` in order and notes the (fake) time of each request."""
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock())
        clock.now += latency
        return answers[len(sent) - 1]

    client = httpx.Client(base_url="https://api.tvmaze.com/", transport=httpx.MockTransport(handler))
    api = Api(
        client, limiter(db, clock, "20/10"), RetryPolicy(attempts=3, backoff=0.5), stop=ClockStop(clock)
    )
    return api, sent


def test_retry_after_is_honoured_and_stored(db: Path) -> None:
    clock = Clock()
    api, sent = api_with(
        db, clock, [httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={})]
    )
    assert api.get_json("shows/1") == {}
    assert sent[1] - sent[0] >= 3
    assert float(query(db, "SELECT value FROM provider_state WHERE key = 'cooldown_until'")[0][0]) == T0 + 3


def test_without_retry_after_a_429_backs_off_at_least_2_seconds(db: Path) -> None:
    clock = Clock()
    api, sent = api_with(db, clock, [httpx.Response(429), httpx.Response(429), httpx.Response(200, json=[])])
    assert api.get_json("shows/1/episodes") == []
    assert sent[1] - sent[0] >= 2 and sent[2] - sent[1] >= 2


def test_a_retry_after_beyond_the_cap_gives_up_and_the_next_run_sends_nothing(db: Path) -> None:
    clock = Clock()
    api, sent = api_with(db, clock, [httpx.Response(429, headers={"Retry-After": "3600"})])
    with pytest.raises(ProviderUnavailable):
        api.get_json("shows/1")
    assert len(sent) == 1
    later, sent_later = api_with(db, clock, [httpx.Response(200, json={})])
    with pytest.raises(ProviderUnavailable, match="cooling down"):
        later.get_json("shows/1")
    assert sent_later == []
