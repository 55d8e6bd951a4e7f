"""Real processes: overlapping runs, SIGKILL and SIGTERM mid-batch, and what the next run finds.

The fake answers slowly (fault-injected latency) so that a batch is still running when the test acts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.tvdb_server import FakeTvdb
from tests.helpers import API_KEY, query, run

SERIES_COUNT = 30
EPISODES_PER_SERIES = 3
SERIES_JOB = "ImportMissingSeriesDataJob"


@pytest.fixture
def slow_tvdb(tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTvdb]:
    """30 series in the catalogue, none imported yet; the fake takes 50 ms per answer."""
    monkeypatch.setenv("SERIESDATA_TVDB_URL", tvdb.url)
    monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", API_KEY)
    monkeypatch.setenv("SERIESDATA_TVDB_RATE_LIMIT", "0")
    ids = tvdb.generate(series=SERIES_COUNT, episodes_per_series=EPISODES_PER_SERIES, specials=0)
    assert run("add", "series", *map(str, ids)).exit_code == 0
    tvdb.set_faults(latency=0.05)
    yield tvdb


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "seriesdata", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip


def end(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[str, str]:
    """Signal the process and collect its output (closing its pipes)."""
    process.send_signal(sig)
    return process.communicate(timeout=15)


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def imported(db: Path) -> int:
    return query(db, "SELECT count(*) FROM series WHERE data_last_updated_at IS NOT NULL")[0][0]


def runs(db: Path, job: str = SERIES_JOB) -> list[tuple]:
    return query(
        db, "SELECT id, status, message, exception FROM job_logs WHERE job_class = ? ORDER BY id", (job,)
    )


def assert_consistent(db: Path) -> None:
    """Whole items or nothing: data, timestamp, episode list and success log row come together."""
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "PRAGMA foreign_key_check") == []
    rows = query(
        db,
        "SELECT s.id, s.name IS NOT NULL, s.data_last_updated_at IS NOT NULL,"
        " (SELECT count(*) FROM episodes e WHERE e.series_id = s.id),"
        " (SELECT count(*) FROM job_logs l WHERE l.loggable_type = 'series' AND l.loggable_id = s.id"
        "  AND l.status = 'success')"
        " FROM series s",
    )
    for row_id, has_name, has_stamp, episodes, successes in rows:
        if has_stamp:
            assert (has_name, episodes, successes) == (1, EPISODES_PER_SERIES, 1), row_id
        else:
            assert (has_name, episodes, successes) == (0, 0, 0), row_id
    assert query(db, "SELECT tvdb_id FROM episodes GROUP BY tvdb_id HAVING count(*) > 1") == []
    assert (
        query(db, "SELECT 1 FROM episodes GROUP BY series_id, season_number, number HAVING count(*) > 1")
        == []
    )


def finish(db: Path) -> dict:
    """The next run carries on and finishes: everything imported, nothing doubled."""
    tvdb_latency_free = run("import-missing", "series", "--json")
    assert tvdb_latency_free.exit_code == 0, tvdb_latency_free.stderr
    report = json.loads(tvdb_latency_free.stdout)
    assert report["remaining"] == 0 and report["failed"] == 0
    assert imported(db) == SERIES_COUNT
    assert query(db, "SELECT count(*) FROM episodes") == [(SERIES_COUNT * EPISODES_PER_SERIES,)]
    assert_consistent(db)
    return report


# --- SIGKILL -------------------------------------------------------------------------------------


def test_sigkill_mid_batch_loses_nothing(slow_tvdb: FakeTvdb, db_path: Path) -> None:
    kills = 0
    for wanted in (2, 9, 17):  # kill at different points of the same catalogue, three times over
        process = spawn("import-missing", "series", "--workers", "2")
        wait_for(lambda w=wanted: imported(db_path) >= w)
        end(process, signal.SIGKILL)
        kills += 1
        assert process.returncode == -signal.SIGKILL
        assert_consistent(db_path)
        assert imported(db_path) < SERIES_COUNT
        assert runs(db_path)[-1][1] == "started"  # left behind by the dead process

    slow_tvdb.set_faults()
    report = finish(db_path)

    rows = runs(db_path)
    assert [row[1] for row in rows] == ["failed"] * kills + ["success"]
    for _, _, message, exception in rows[:kills]:
        assert "interrupted: the process ended mid-run" in message
        assert exception == "interrupted: the process ended before finishing the run"
    assert report["processed"] == SERIES_COUNT - (imported(db_path) - report["imported"])


def test_sigkill_during_episode_import(slow_tvdb: FakeTvdb, db_path: Path) -> None:
    slow_tvdb.set_faults()
    assert run("import-missing", "series").exit_code == 0
    slow_tvdb.set_faults(latency=0.05)
    process = spawn("import-missing", "episodes", "--limit", "0", "--workers", "2")
    wait_for(lambda: query(db_path, "SELECT count(data_last_updated_at) FROM episodes")[0][0] >= 6)
    end(process, signal.SIGKILL)

    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]
    half = query(
        db_path,
        "SELECT count(*) FROM episodes WHERE (data_last_updated_at IS NULL) != (name IS NULL)",
    )
    assert half == [(0,)]
    slow_tvdb.set_faults()
    result = run("import-missing", "episodes", "--limit", "0", "--json")
    assert result.exit_code == 0
    assert query(db_path, "SELECT count(*), count(data_last_updated_at) FROM episodes") == [(90, 90)]
    assert runs(db_path, "ImportMissingEpisodesDataJob")[0][1] == "failed"


# --- SIGTERM / SIGINT ----------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_and_exits_130(sig: signal.Signals, slow_tvdb: FakeTvdb, db_path: Path) -> None:
    process = spawn("import-missing", "series", "--workers", "2", "--json")
    wait_for(lambda: imported(db_path) >= 4)
    stdout, stderr = end(process, sig)

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    report = json.loads(stdout)
    assert report["status"] == "failed" and report["reason"] == f"interrupted by {sig.name}"
    assert report["imported"] == imported(db_path) < SERIES_COUNT  # what was written is kept
    ((_, status, message, exception),) = runs(db_path)
    assert status == "failed" and exception == f"interrupted by {sig.name}"
    assert message.endswith(f"— interrupted by {sig.name}")
    assert_consistent(db_path)
    assert query(db_path, "SELECT max(attempts) FROM series") == [(0,)]  # nobody charged for stopping

    slow_tvdb.set_faults()
    finish(db_path)


def test_sigterm_says_so_on_a_terminal_less_stderr(slow_tvdb: FakeTvdb, db_path: Path) -> None:
    process = spawn("import-missing", "series", "--workers", "1")
    wait_for(lambda: imported(db_path) >= 1)
    _, stderr = end(process)

    assert process.returncode == 130
    (line,) = stderr.strip().splitlines()
    assert line.startswith("SeriesDataJob for ") and line.endswith("— interrupted by SIGTERM")


# --- overlapping runs ----------------------------------------------------------------------------


def test_second_run_of_the_same_job_exits_75_at_once(slow_tvdb: FakeTvdb, db_path: Path) -> None:
    first = spawn("import-missing", "series", "--workers", "1")
    wait_for(lambda: imported(db_path) >= 1)

    began = time.monotonic()
    second = run("import-missing", "series", "--json")
    took = time.monotonic() - began

    assert second.exit_code == 75 and took < 5
    report = json.loads(second.stdout)
    assert report["status"] == "skipped" and "another run holds the lock" in report["reason"]
    text = run("import-missing", "series")
    assert text.exit_code == 75
    assert text.stderr.strip().startswith("warning: ImportMissingSeriesDataJob skipped: another run holds")
    assert first.poll() is None  # the first run was not disturbed
    statuses = [row[1] for row in runs(db_path)]
    assert statuses == ["started", "skipped", "skipped"]

    slow_tvdb.set_faults()
    first.communicate(timeout=30)
    assert first.returncode == 0
    assert [row[1] for row in runs(db_path)] == ["success", "skipped", "skipped"]


def test_two_runs_started_together_one_runs_one_skips(slow_tvdb: FakeTvdb, db_path: Path) -> None:
    both = [spawn("import-missing", "series", "--workers", "2", "--json") for _ in range(2)]
    outputs = [process.communicate(timeout=30) for process in both]

    assert sorted(process.returncode for process in both) == [0, 75]
    reports = sorted((json.loads(out) for out, _ in outputs), key=lambda report: report["status"])
    assert [report["status"] for report in reports] == ["skipped", "success"]
    assert reports[1]["imported"] == SERIES_COUNT
    assert sorted(row[1] for row in runs(db_path)) == ["skipped", "success"]
    assert_consistent(db_path)


def test_wait_runs_after_the_other_run_finishes(slow_tvdb: FakeTvdb, db_path: Path) -> None:
    first = spawn("import-missing", "series", "--workers", "2", "--limit", "12")
    wait_for(lambda: imported(db_path) >= 1)

    second = run("import-missing", "series", "--wait", "30", "--json")

    first.communicate(timeout=5)
    assert first.returncode == 0
    assert second.exit_code == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["imported"] == SERIES_COUNT - 12 and report["remaining"] == 0
    first_run, second_run = query(
        db_path, "SELECT created_at, finished_at FROM job_logs WHERE job_class = ? ORDER BY id", (SERIES_JOB,)
    )
    assert second_run[0] >= first_run[1]  # started only once the first had finished
    assert_consistent(db_path)


def test_wait_too_short_exits_75(slow_tvdb: FakeTvdb, db_path: Path) -> None:
    first = spawn("import-missing", "series", "--workers", "1")
    wait_for(lambda: imported(db_path) >= 1)

    second = run("import-missing", "series", "--wait", "0.3")

    assert second.exit_code == 75 and "waited 0.3 s" in second.stderr
    end(first)


def test_signal_ends_a_lock_wait(slow_tvdb: FakeTvdb, db_path: Path) -> None:
    first = spawn("import-missing", "series", "--workers", "1")
    wait_for(lambda: imported(db_path) >= 1)
    waiting = spawn("import-missing", "series", "--wait", "60")
    time.sleep(0.8)  # let it start waiting

    began = time.monotonic()
    _, stderr = end(waiting)

    assert waiting.returncode == 130 and time.monotonic() - began < 5
    assert stderr.strip() == "error: interrupted while waiting for another run to release its lock"
    assert first.poll() is None
    end(first)


def test_different_jobs_do_not_block_each_other(slow_tvdb: FakeTvdb, db_path: Path) -> None:
    slow_tvdb.set_faults()
    assert run("import-missing", "series", "--limit", "2").exit_code == 0  # six episodes to import
    slow_tvdb.set_faults(latency=0.05)
    series = spawn("import-missing", "series", "--workers", "1")
    wait_for(lambda: imported(db_path) >= 3)

    episodes = run("import-missing", "episodes", "--json")

    assert episodes.exit_code == 0, episodes.stderr
    assert json.loads(episodes.stdout)["imported"] >= 6
    assert series.poll() is None
    end(series)
    assert series.returncode == 130
    assert_consistent(db_path)


def test_lock_of_another_database_does_not_block(slow_tvdb: FakeTvdb, db_path: Path, tmp_path: Path) -> None:
    first = spawn("import-missing", "series", "--workers", "1")
    wait_for(lambda: imported(db_path) >= 1)
    other = tmp_path / "other.db"
    assert run("--db", str(other), "add", "series", "100001").exit_code == 0

    result = run("--db", str(other), "import-missing", "series")

    assert result.exit_code == 0, result.stderr
    end(first)
