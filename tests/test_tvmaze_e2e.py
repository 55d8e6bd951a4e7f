"""End to end with TVmaze: the real CLI against FakeTvmaze over a socket, the SQLite file read back.

The fake answers 429 as soon as a client exceeds its limit (20 calls in 10 s by default), so
`rate_limited == 0` proves seriesdata kept to it. The tests that need many requests shrink the window
(SERIESDATA_TVMAZE_RATE_LIMIT and the fake's limit set to match) to stay fast; one keeps the real 20/10.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seriesdata import __version__
from tests.fakes.tvmaze_server import BREAKING_BAD, FakeTvmaze
from tests.helpers import Result, cli, query, run

SERIESDATA = f'"{sys.executable}" -m seriesdata'


def shell(script: str, timeout: float = 120) -> Result:
    """Run a shell script the way a user or cron would, seriesdata as `$SERIESDATA`."""
    proc = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, env=dict(os.environ), timeout=timeout
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def fast_tvmaze(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTvmaze]:
    """A fake that allows 20 calls per 1 s, and seriesdata configured to match."""
    server = FakeTvmaze(rate_limit=20, rate_window=1.0)
    with server:
        monkeypatch.setenv("SERIESDATA_TVMAZE_URL", server.url)
        monkeypatch.setenv("SERIESDATA_TVMAZE_RATE_LIMIT", "20/1")
        yield server


def plain(html: str) -> str:
    """The fake's summaries are one paragraph of simple inline tags."""
    return re.sub(r"<[^>]+>", "", html)


def served_episodes(server: FakeTvmaze, show_id: int, specials: bool = False) -> set[tuple[Any, ...]]:
    rows = set()
    for episode in server.episodes.values():
        if episode["_show"] != show_id or (episode["type"] != "regular" and not specials):
            continue
        special = episode["number"] is None
        rows.add(
            (
                episode["id"], 0 if special else episode["season"], episode["number"], episode["name"],
                episode["airdate"], episode["runtime"], plain(episode["summary"]), episode["url"],
            )
        )  # fmt: skip
    return rows


def stored_episodes(db: Path, tvdb_id: int) -> set[tuple[Any, ...]]:
    return set(
        query(
            db,
            "SELECT e.tvmaze_id, e.season_number, e.number, e.name, e.aired, e.runtime, e.overview, e.url"
            " FROM episodes e JOIN series s ON s.id = e.series_id"
            " WHERE s.tvdb_id = ? AND e.data_last_updated_at IS NOT NULL",
            (tvdb_id,),
        )
    )


def busiest(server: FakeTvmaze, seconds: float) -> int:
    """Most requests that arrived within any `seconds` (the window the client keeps to)."""
    times = sorted(hit.at for hit in server.hits())
    return max((sum(1 for t in times[i:] if t - start < seconds) for i, start in enumerate(times)), default=0)


def all_imported(db: Path) -> tuple[int, int]:
    return (
        query(db, "SELECT count(*) FROM series WHERE data_last_updated_at IS NULL")[0][0],
        query(db, "SELECT count(*) FROM episodes WHERE data_last_updated_at IS NULL")[0][0],
    )


# --- Done when: Breaking Bad with no configuration -------------------------------------------------


def test_breaking_bad_with_no_configuration(with_tvmaze: FakeTvmaze, db_path: Path) -> None:
    """`add series 81189 && import-missing series && import-missing episodes`, nothing configured
    but the fake's URL: TVmaze is chosen, the real 20/10 limit holds, the data is what was served."""
    with_tvmaze.add_breaking_bad()
    agents: list[str | None] = []
    gate = with_tvmaze.gate
    with_tvmaze.gate = lambda req: agents.append(req.headers.get("User-Agent")) or gate(req)  # type: ignore[method-assign]

    result = shell(
        f"{SERIESDATA} add series 81189 && {SERIESDATA} import-missing series"
        f" && {SERIESDATA} --json import-missing episodes"
    )
    assert result.exit_code == 0, result.stderr
    report = result.json_lines()[-1]
    assert (report["provider"], report["imported"], report["remaining"]) == ("tvmaze", 62, 0)

    ((tvmaze_id, name, overview, status, first_aired, year, language, image, url, updated),) = query(
        db_path,
        "SELECT tvmaze_id, name, overview, status, first_aired, year, original_language, image_url, url,"
        " data_last_updated_at FROM series WHERE tvdb_id = 81189",
    )
    assert (tvmaze_id, name, status, first_aired, year, language) == (
        169, "Breaking Bad", "Ended", "2008-01-20", 2008, "eng",
    )  # fmt: skip
    assert overview == plain(BREAKING_BAD["summary"]) and overview.startswith("Breaking Bad follows")
    assert image == BREAKING_BAD["image"]["original"] and url == BREAKING_BAD["url"]
    assert updated is not None

    stored = stored_episodes(db_path, 81189)
    assert stored == served_episodes(with_tvmaze, 169) and len(stored) == 62
    assert {(row[1], row[2], row[3]) for row in stored} >= {
        (1, 1, "Pilot"),
        (1, 7, "A No-Rough-Stuff-Type Deal"),
    }
    assert query(db_path, "SELECT count(*) FROM episodes WHERE season_number = 0 OR overview LIKE '%<%'") == [
        (0,)
    ]
    assert with_tvmaze.rate_limited == 0
    assert agents and set(agents) == {f"seriesdata/{__version__} (+https://github.com/seriesdata/seriesdata)"}


def test_specials_only_with_include_specials(with_tvmaze: FakeTvmaze, db_path: Path) -> None:
    with_tvmaze.add_breaking_bad()
    assert cli("add", "series", "81189").exit_code == 0
    assert cli("import-missing", "series", "--include-specials").exit_code == 0
    assert cli("import-missing", "episodes", "--include-specials").exit_code == 0
    specials = query(
        db_path, "SELECT name, number, aired FROM episodes WHERE season_number = 0 ORDER BY name"
    )
    assert specials == [("Good Cop / Bad Cop", None, "2009-02-17"), ("Wedding Day", None, "2009-02-17")]
    assert stored_episodes(db_path, 81189) == served_episodes(with_tvmaze, 169, specials=True)
    assert all_imported(db_path) == (0, 0)


# --- never a 429 ------------------------------------------------------------------------------------


def test_thirty_series_in_batches_without_a_429(fast_tvmaze: FakeTvmaze, db_path: Path) -> None:
    """120-odd requests through 8 workers and consecutive --until-done batches, at 20 per second."""
    shows = fast_tvmaze.generate(30, 3, seasons=1, specials=0)
    tvdb_ids = [str(100_001 + i) for i in range(30)]
    assert cli("add", "series", *tvdb_ids).exit_code == 0

    series = cli("import-missing", "series", "--until-done", "--limit", "10", "--workers", "8", "--json")
    episodes = cli("import-missing", "episodes", "--until-done", "--limit", "25", "--workers", "8", "--json")

    assert (series.exit_code, episodes.exit_code) == (0, 0), series.stderr + episodes.stderr
    assert len(series.json_lines()) == 3 and len(episodes.json_lines()) == 4
    assert fast_tvmaze.rate_limited == 0
    requests = sum(run["api_requests"] for run in series.json_lines() + episodes.json_lines())
    assert requests == fast_tvmaze.count() >= 120
    assert 15 <= busiest(fast_tvmaze, 1.0) <= 20  # pressed against the limit, never over it
    assert all_imported(db_path) == (0, 0)
    for show_id, tvdb_id in zip(shows, tvdb_ids, strict=True):
        assert stored_episodes(db_path, int(tvdb_id)) == served_episodes(fast_tvmaze, show_id)


def test_back_to_back_processes_keep_the_real_default_limit(with_tvmaze: FakeTvmaze, db_path: Path) -> None:
    """A shell loop at the real 20 calls / 10 s: 9 + 9 + 6 series requests from three processes
    started one after another, then the episodes. Only the request times in the database stop the third
    process from sending at once; its 21st request overall waits for the first to be 10.5 s old."""
    with_tvmaze.generate(8, 2, seasons=1, specials=0)
    assert cli("add", "series", *(str(100_001 + i) for i in range(8))).exit_code == 0

    loop = (
        f"for i in 1 2 3; do {SERIESDATA} --quiet import-missing series --limit 3 || exit 1; done;"
        f" {SERIESDATA} --quiet import-missing episodes"
    )
    result = shell(loop)

    assert result.exit_code == 0, result.stderr
    assert with_tvmaze.rate_limited == 0
    assert with_tvmaze.count() == 8 * 3 + 8
    assert busiest(with_tvmaze, 10.0) == 20
    hits = with_tvmaze.hits()
    assert hits[20].at - hits[0].at >= 10.0
    assert all_imported(db_path) == (0, 0)


def test_a_429_cool_down_holds_for_the_next_process(with_tvmaze: FakeTvmaze, db_path: Path) -> None:
    """Retry-After: 3 on the first request; that run gives up (one try per request), the next process
    started at once sends nothing before the cool-down stored in the database has ended."""
    with_tvmaze.add_breaking_bad()
    assert cli("add", "series", "81189").exit_code == 0
    with_tvmaze.fail_next(r"^/lookup/shows", 429, headers={"Retry-After": "3"}, body='{"status":429}')

    first = run("import-missing", "series", env={"SERIESDATA_RETRIES": "1"})
    assert first.exit_code == 1
    failed = "SELECT count(*) FROM job_logs WHERE loggable_type = 'series' AND exception LIKE '%HTTP 429%'"
    assert query(db_path, failed) == [(1,)]
    ((cooldown_until,),) = query(db_path, "SELECT value FROM provider_state WHERE key = 'cooldown_until'")
    second = run("import-missing", "series", "--retry-failed")

    assert second.exit_code == 0, second.stderr
    refused, *later = with_tvmaze.hits()
    assert refused.status == 429 and later
    assert float(cooldown_until) >= refused.at + 3
    assert later[0].at >= float(cooldown_until)
    assert all_imported(db_path)[0] == 0


def test_a_long_retry_after_stops_the_run_and_the_next_sends_nothing(
    with_tvmaze: FakeTvmaze, db_path: Path
) -> None:
    """An hour's cool-down is not slept through (holding the job lock): both runs stop at once, say
    until when, and hold nothing against the items."""
    with_tvmaze.generate(5, 2, seasons=1, specials=0)
    assert cli("add", "series", *(str(100_001 + i) for i in range(5))).exit_code == 0
    with_tvmaze.fail_next(r"^/lookup/shows", 429, headers={"Retry-After": "3600"})

    first = cli("import-missing", "series", "--workers", "1")  # one worker: nothing else in flight
    sent = with_tvmaze.count()
    second = cli("import-missing", "series")

    for result in (first, second):
        assert result.exit_code == 1 and "cooling down until" in result.stderr
        assert "aborted: rate limited (" in result.stderr
    assert sent == 1  # the 429, then nothing
    assert with_tvmaze.count() == sent
    assert query(db_path, "SELECT sum(attempts), count(next_attempt_at) FROM series") == [(0, 0)]


# --- provider selection -----------------------------------------------------------------------------


def chosen_provider(*args: str) -> str:
    result = cli(*args, "import-missing", "series", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    return result.json()["provider"]  # type: ignore[index]


def test_auto_picks_tvdb_only_when_a_key_is_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert chosen_provider() == "tvmaze"
    monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", "some-key")
    assert chosen_provider() == "tvdb"
    assert chosen_provider("--provider", "tvmaze") == "tvmaze"
    monkeypatch.delenv("SERIESDATA_TVDB_API_KEY")
    config = tmp_path / "config.toml"
    config.write_text('tvdb_api_key = "from-file"\n')
    assert chosen_provider("--config", str(config)) == "tvdb"


@pytest.mark.parametrize("how", ["option", "environment"])
def test_tvdb_without_a_key_is_a_clear_usage_error(
    how: str, monkeypatch: pytest.MonkeyPatch, db_path: Path
) -> None:
    args = ["--provider", "tvdb"] if how == "option" else []
    if how == "environment":
        monkeypatch.setenv("SERIESDATA_PROVIDER", "tvdb")
    result = cli(*args, "import-missing", "series")
    assert result.exit_code == 2
    assert "provider tvdb needs an API key" in result.stderr and "SERIESDATA_TVDB_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr and not db_path.exists()


def test_only_the_providers_package_knows_provider_names() -> None:
    """Jobs, storage and CLI talk to the Provider protocol: no name comparisons, no provider imports."""
    root = Path(__file__).resolve().parents[1] / "seriesdata"
    offending = []
    for package in ("jobs", "storage", "cli"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            pattern = (
                r"""[=!]=\s*["'](tvdb|tvmaze)["']|providers\.(tvdb|tvmaze)\b|isinstance\([^)]*(Tvdb|Tvmaze)"""
            )
            offending += [f"{path.relative_to(root)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offending == []
