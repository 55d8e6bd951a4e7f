"""The scripts in examples/ run as a user would run them: bash subprocesses against a fake server."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seriesdata.jobs.lock import JobLock
from tests.fakes.tvdb_server import FakeTvdb
from tests.helpers import cli, query

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_COMMAND = "/home/you/.venv/bin/seriesdata --db /home/you/seriesdata.db"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def bash(script: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable, **(env or {})},
    )  # fmt: skip


def test_series_csv_holds_real_ids_with_names() -> None:
    with (EXAMPLES / "series.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) >= 10
    assert {"81189": "Breaking Bad", "121361": "Game of Thrones"}.items() <= {
        row["tvdb_id"]: row["name"] for row in rows
    }.items()
    assert cli("add", "series", "--file", str(EXAMPLES / "series.csv")).exit_code == 0


def test_demo_runs_the_whole_workflow_offline(tmp_path: Path) -> None:
    result = bash(EXAMPLES / "demo.sh", env={"TMPDIR": str(tmp_path)})

    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout.strip().splitlines()[-1])  # the demo ends with `status --json`
    assert status["provider"] == "tvdb"
    assert status["series"]["imported"] == 5 and status["series"]["not_found"] == 5
    assert status["episodes"]["remaining"] == 0 and status["episodes"]["imported"] > 200
    assert "Breaking Bad" in result.stdout  # `list`
    assert "EpisodeDataJob" in result.stdout  # `logs`
    assert list(tmp_path.iterdir()) == []  # the temporary database is gone


@pytest.fixture
def script_env(with_tvdb: FakeTvdb) -> dict[str, str]:
    with_tvdb.add_series(81189, "Breaking Bad", episodes=30)
    with_tvdb.add_series(121361, "Game of Thrones", episodes=25)
    cli("add", "series", "81189", "121361")
    return {"SERIESDATA": f"{sys.executable} -m seriesdata", "BATCH": "20"}


@pytest.mark.parametrize("jq", ["", "jq"], ids=["python", "jq"])
def test_import_all_loops_until_nothing_remains(script_env: dict[str, str], db_path: Path, jq: str) -> None:
    if jq and not shutil.which("jq"):
        pytest.skip("jq is not installed")
    result = bash(EXAMPLES / "import-all.sh", env={**script_env, "JQ": shutil.which(jq) or "" if jq else ""})

    assert result.returncode == 0, result.stderr
    assert "episodes batch 3: success, 15 imported, 0 failed, 0 remaining" in result.stderr
    assert query(db_path, "SELECT count(*) FROM episodes WHERE data_last_updated_at IS NULL") == [(0,)]
    runs = query(db_path, "SELECT count(*) FROM job_logs WHERE job_class = 'ImportMissingEpisodesDataJob'")
    assert runs == [(3,)]


def test_import_all_reports_failures_with_exit_1(script_env: dict[str, str], db_path: Path) -> None:
    cli("add", "series", "99999999")  # unknown to the provider

    result = bash(EXAMPLES / "import-all.sh", env={**script_env, "JQ": "", "BATCH": "100"})

    assert result.returncode == 1
    assert "seriesdata logs --status failed" in result.stderr
    assert query(db_path, "SELECT count(*) FROM episodes WHERE data_last_updated_at IS NULL") == [(0,)]


def test_import_all_exits_75_while_another_run_holds_the_lock(
    script_env: dict[str, str], db_path: Path
) -> None:
    with JobLock(db_path, "ImportMissingSeriesDataJob") as lock:
        lock.acquire()
        result = bash(EXAMPLES / "import-all.sh", "series", env={**script_env, "JQ": ""})

    assert result.returncode == 75
    assert "holds the lock" in result.stderr


def test_import_all_rejects_unknown_arguments(script_env: dict[str, str]) -> None:
    assert bash(EXAMPLES / "import-all.sh", "movies", env=script_env).returncode == 2


def test_crontab_example_matches_the_cron_command() -> None:
    example = (EXAMPLES / "crontab").read_text()
    for line in cli("cron").stdout.splitlines():
        if line[:1].isdigit():
            schedule, args = " ".join(line.split(" ", 5)[:5]), line.split(" --quiet ", 1)[1]
            assert f"{schedule} {EXAMPLE_COMMAND} --quiet {args}" in example


def test_import_all_says_how_to_point_it_at_seriesdata(tmp_path: Path) -> None:
    result = bash(EXAMPLES / "import-all.sh", env={"SERIESDATA": str(tmp_path / "bin" / "seriesdata")})

    assert result.returncode == 2
    assert "set SERIESDATA=/path/to/seriesdata" in result.stderr
