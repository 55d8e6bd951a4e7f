"""status, list, logs, logs prune, cron and config show: the real CLI on a real SQLite file."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from seriesdata.jobs.lock import JobLock
from tests.fakes.tvdb_server import FakeTvdb
from tests.helpers import cli, query, run

MARKUP = "[bold]x[/bold] [/] [link=http://evil]y[/link]"


def execute(db: Path, sql: str, params: tuple = ()) -> None:
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute(sql, params)
    finally:
        conn.close()


@pytest.fixture
def library(with_tvdb: FakeTvdb, db_path: Path) -> FakeTvdb:
    """Two series (10 + 5 episodes) and one id the provider does not know; series and 10 episodes imported."""
    with_tvdb.add_series(81189, "Breaking Bad", episodes=10)
    with_tvdb.add_series(78878, MARKUP, episodes=5)
    assert cli("add", "series", "81189", "78878", "99999999").exit_code == 0
    assert cli("import-missing", "series").exit_code == 1  # 99999999: not found
    assert cli("import-missing", "episodes", "--limit", "10").exit_code == 0
    return with_tvdb


# --- status ----------------------------------------------------------------------------------------


def test_status_json_counts_and_last_runs(library: FakeTvdb, db_path: Path) -> None:
    execute(db_path, "UPDATE series SET data_last_updated_at = '2000-01-01 00:00:00' WHERE tvdb_id = 81189")
    execute(db_path, "UPDATE episodes SET removed_upstream_at = '2020-01-01 00:00:00' WHERE id = 1")

    result = cli("status", "--json")

    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["db"] == str(db_path)
    assert report["provider"] == "tvdb"
    assert report["series"] == {
        "total": 3, "imported": 2, "remaining": 0, "deferred": 1, "not_found": 1, "failed": 1,
        "stale": 1, "removed_upstream": 0,
    }  # fmt: skip
    assert report["episodes"] == {
        "total": 15, "imported": 10, "remaining": 5, "deferred": 0, "not_found": 0, "failed": 0,
        "stale": 0, "removed_upstream": 1,
    }  # fmt: skip
    runs = report["last_runs"]
    assert [run["job"] for run in runs] == ["ImportMissingEpisodesDataJob", "ImportMissingSeriesDataJob"]
    assert [run["status"] for run in runs] == ["success", "partial"]
    assert all({"job", "status", "created_at", "message"} <= set(run) for run in runs)
    assert runs[0]["message"] == "EpisodeDataJob for 10 of 10 episodes imported (5 remaining)"


def test_status_shows_check_updates_runs_too(library: FakeTvdb) -> None:
    assert cli("check-updates", "series", "--hours", "0", "--all-stale").exit_code in (0, 1)
    jobs = [run["job"] for run in cli("status", "--json").json()["last_runs"]]
    assert jobs[0] == "CheckSeriesDataUpdatesJob" and len(jobs) == 3


def test_status_table_names_database_and_provider(library: FakeTvdb, db_path: Path) -> None:
    result = cli("status")

    assert result.exit_code == 0
    assert f"Database: {db_path}" in result.stdout
    assert f"Provider: tvdb ({library.url}" in result.stdout
    assert "ImportMissingSeriesDataJob" in result.stdout and "partial" in result.stdout
    assert "remaining" in result.stdout and "not found" in result.stdout
    assert "seriesdata logs --status failed" in result.stderr  # the next step, as a message


def test_global_flags_work_before_and_after_the_command(library: FakeTvdb) -> None:
    before, after = cli("--json", "status"), cli("status", "--json")
    assert before.json() == after.json()


def test_a_run_left_started_by_a_dead_process_shows_interrupted(db_path: Path) -> None:
    cli("init")
    execute(
        db_path,
        "INSERT INTO job_logs (job_class, status, message, created_at, pid)"
        " VALUES ('ImportMissingEpisodesDataJob', 'started', 'EpisodeDataJob run started', ?, 999999)",
        ("2024-01-01 02:00:00.000",),
    )

    (run_row,) = cli("status", "--json").json()["last_runs"]
    assert run_row["status"] == "interrupted"

    with JobLock(db_path, "ImportMissingEpisodesDataJob") as lock:  # a live run holds the job's lock
        lock.acquire()
        assert cli("status", "--json").json()["last_runs"][0]["status"] == "running"
    assert "interrupted" in cli("status").stdout


def test_status_of_an_empty_catalogue_says_what_to_do(db_path: Path) -> None:
    result = cli("status")
    assert result.exit_code == 0
    assert "No runs yet." in result.stdout
    assert "add series" in result.stderr
    assert cli("status", "--json").json()["series"]["total"] == 0


# --- list ------------------------------------------------------------------------------------------


def test_list_series_json_and_filters(library: FakeTvdb) -> None:
    rows = cli("list", "series", "--json").json()
    assert [row["tvdb_id"] for row in rows] == [81189, 78878, 99999999]
    assert [row["imported"] for row in rows] == [True, True, False]
    assert {"id", "name", "data_last_updated_at", "attempts", "last_error"} <= set(rows[0])

    assert [r["tvdb_id"] for r in cli("list", "series", "--missing", "--json").json()] == [99999999]
    assert [r["tvdb_id"] for r in cli("list", "series", "--imported", "--json").json()] == [81189, 78878]
    (failed,) = cli("list", "series", "--failed", "--json").json()
    assert failed["attempts"] == 1 and "not found" in failed["last_error"]
    assert failed["not_found_at"] is not None


def test_list_episodes_by_series_with_limit(library: FakeTvdb) -> None:
    rows = cli("list", "episodes", "--series", "78878", "--json").json()
    assert len(rows) == 5 and {row["series_tvdb_id"] for row in rows} == {78878}
    everything = cli("list", "episodes", "--limit", "0", "--json").json()
    assert len(everything) == 15 and sum(row["imported"] for row in everything) == 10

    limited = cli("list", "episodes", "--limit", "3")
    assert limited.exit_code == 0
    assert limited.stdout.count("81189") == 3
    assert "Showing 3 of 15" in limited.stderr


def test_list_table_has_imported_marks_and_errors(library: FakeTvdb) -> None:
    table = cli("list", "series").stdout
    assert "imported" in table and "✓" in table and "✗" in table
    failed = cli("list", "series", "--failed").stdout
    assert "99999999" in failed and "not found upstream" in failed and "81189" not in failed


def test_list_rejects_bad_filters(library: FakeTvdb) -> None:
    assert cli("list", "series", "--missing", "--failed").exit_code == 2
    unknown = cli("list", "episodes", "--series", "12345")
    assert unknown.exit_code == 2 and "not in the catalogue" in unknown.stderr
    assert cli("list", "movies").exit_code == 2


# --- logs ------------------------------------------------------------------------------------------

JOB_LOG_COLUMNS = {
    "id", "job_class", "status", "message", "context", "exception", "loggable_type", "loggable_id",
    "created_at", "finished_at", "duration_seconds",
}  # fmt: skip


def test_logs_newest_first_with_filters(library: FakeTvdb, db_path: Path) -> None:
    rows = cli("logs", "--json", "--limit", "0").json()
    assert len(rows) == query(db_path, "SELECT count(*) FROM job_logs")[0][0]
    # Newest run first; each run's own row above its item rows (although it was written first).
    runs = [row for row in rows if row["run_id"] is None]
    assert [row["id"] for row in runs] == sorted((row["id"] for row in runs), reverse=True)
    for run_row in runs:
        start = rows.index(run_row)
        items = [row["id"] for row in rows[start + 1 :] if row["run_id"] == run_row["id"]]
        own = [row for row in rows if row["run_id"] == run_row["id"]]
        assert rows[start + 1 : start + 1 + len(items)] == own
        assert items == sorted(items, reverse=True)
    assert JOB_LOG_COLUMNS <= set(rows[0])

    (failed,) = cli("logs", "--status", "failed", "--json").json()
    assert failed["job_class"] == "SeriesDataJob" and failed["loggable_type"] == "series"
    assert "not found" in failed["exception"]

    runs = cli("logs", "--job", "importmissingseriesdatajob", "--json").json()
    assert [row["job_class"] for row in runs] == ["ImportMissingSeriesDataJob"]
    assert len(cli("logs", "--limit", "2", "--json").json()) == 2


def test_logs_table_and_bad_status(library: FakeTvdb) -> None:
    result = cli("logs", "--status", "failed")
    assert result.exit_code == 0
    assert "SeriesDataJob" in result.stdout and "Failed series 99999999" in result.stdout
    assert cli("logs", "--status", "broken").exit_code == 2
    unknown = cli("logs", "--job", "NoSuchJob")
    assert unknown.exit_code == 2 and "unknown job 'NoSuchJob'" in unknown.stderr
    assert "No job_logs rows match" in cli("logs", "--job", "CheckSeriesDataUpdatesJob").stderr


def test_logs_prune_deletes_old_rows_in_one_go(library: FakeTvdb, db_path: Path) -> None:
    total = query(db_path, "SELECT count(*) FROM job_logs")[0][0]
    run_id = query(db_path, "SELECT id FROM job_logs WHERE job_class = 'ImportMissingSeriesDataJob'")[0][0]
    execute(db_path, "UPDATE job_logs SET created_at = '2020-01-01 00:00:00.000' WHERE id = ?", (run_id,))
    items = query(db_path, "SELECT count(*) FROM job_logs WHERE run_id = ?", (run_id,))[0][0]

    result = cli("logs", "prune", "--older-than", "30", "--json")

    assert result.exit_code == 0, result.stderr
    assert result.json()["deleted"] == 1 + items  # the run row and its item rows
    assert query(db_path, "SELECT count(*) FROM job_logs")[0][0] == total - 1 - items
    execute(db_path, "UPDATE job_logs SET created_at = '2021-01-01 00:00:00.000'")
    message = cli("logs", "prune", "--older-than", "1")
    assert message.exit_code == 0 and f"Deleted {total - 1 - items} job_logs rows" in message.stderr
    assert cli("logs", "prune").exit_code == 2  # --older-than is required


# --- cron and config show ------------------------------------------------------------------------


def test_cron_prints_absolute_lines_for_the_recommended_schedule(db_path: Path) -> None:
    result = cli("cron")

    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert [line.split(" ", 5)[:5] for line in lines] == [
        ["0", "2", "*", "*", "*"], ["0", "3", "*", "*", "*"], ["0", "4", "*", "*", "0"],
        ["30", "4", "1", "*", "*"],
    ]  # fmt: skip
    for line in lines:
        command = line.split(" ", 5)[5]
        assert command.startswith("/") and f"--db {db_path} --quiet " in command
    assert "import-missing series" in lines[0] and "import-missing episodes" in lines[1]
    assert lines[2].endswith("check-updates series --hours 168")
    assert "# MAILTO=" in result.stdout and "SERIESDATA_TVDB_API_KEY=..." in result.stdout


def test_cron_never_prints_the_key_but_says_cron_needs_it(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", "s3cret-key")
    monkeypatch.setenv("SERIESDATA_LANGUAGES", "deu,eng")
    result = cli("--provider", "tvdb", "cron", "--log", str(tmp_path / "sd.log"), "--json")

    lines = result.json()["lines"]
    text = "\n".join(lines)
    assert "s3cret-key" not in text
    assert "# SERIESDATA_TVDB_API_KEY=..." in lines
    assert "SERIESDATA_PROVIDER=tvdb" in lines and "SERIESDATA_LANGUAGES=deu,eng" in lines
    assert all(line.endswith(f">> {tmp_path / 'sd.log'} 2>&1") for line in lines if line[0].isdigit())


def test_cron_passes_the_config_file_and_escapes_percent(tmp_path: Path) -> None:
    config = tmp_path / "my%conf.toml"
    config.write_text('provider = "tvmaze"\n')
    lines = cli("--config", str(config), "cron", "--json").json()["lines"]
    assert any(f"--config {tmp_path}/my\\%conf.toml" in line for line in lines)


def test_config_show_sources_and_redaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('workers = 8\ntvdb_pin = "1234"\nlanguages = ["deu", "eng"]\n')
    monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", "s3cret-key")

    result = cli("--config", str(config), "--provider", "tvmaze", "config", "show", "--json")

    assert result.exit_code == 0, result.stderr
    shown = result.json()
    assert "s3cret-key" not in result.stdout and "1234" not in result.stdout
    settings = shown["settings"]
    assert settings["workers"] == {"value": "8", "source": f"config file {config}"}
    assert settings["tvdb_api_key"] == {"value": "(set, hidden)", "source": "SERIESDATA_TVDB_API_KEY"}
    assert settings["provider"]["source"] == "option"
    assert settings["timeout"]["source"] == "default"
    assert shown["config_file"] == str(config) and shown["config_file_exists"] is True
    assert shown["provider_in_use"] == "tvmaze"

    table = cli("--config", str(config), "config", "show")
    assert "s3cret-key" not in table.stdout + table.stderr
    assert "deu,eng" in table.stdout and "SERIESDATA_TVDB_API_KEY" in table.stdout


# --- conventions -----------------------------------------------------------------------------------


def test_rich_markup_in_data_prints_literally(library: FakeTvdb, db_path: Path) -> None:
    execute(
        db_path,
        "INSERT INTO job_logs (job_class, status, message, created_at, finished_at)"
        " VALUES ('ImportMissingEpisodesDataJob', 'failed', ?, '2999-01-01 00:00:00', '2999-01-01 00:00:01')",
        (f"aborted: {MARKUP}",),
    )
    listing = cli("list", "series")
    episodes = cli("list", "episodes", "--series", "78878")
    logs = cli("logs", "--limit", "1")
    status = cli("status")
    for result in (listing, logs, status):
        assert result.exit_code == 0, result.stderr
        assert MARKUP in result.stdout
    assert episodes.exit_code == 0
    summary = cli("import-missing", "episodes", "--dry-run")  # the dry-run table and summary
    assert summary.exit_code == 0


def test_quiet_prints_nothing_on_success(with_tvdb: FakeTvdb, tmp_path: Path) -> None:
    with_tvdb.add_series(81189, "Breaking Bad", episodes=3)
    commands = [
        ["init"], ["add", "series", "81189"], ["import-missing", "series"],
        ["import-missing", "episodes"], ["check-updates", "series", "--hours", "168"], ["status"],
        ["list", "series"], ["list", "episodes", "--failed"],
        ["logs"], ["logs", "prune", "--older-than", "30"], ["cron"], ["config", "show"],
        ["add", "episode", "--series", "81189", "--season", "9", "--number", "1"],
    ]  # fmt: skip
    for command in commands:
        for args in (["--quiet", *command], [*command, "--quiet"]):
            result = cli(*args)
            assert (result.exit_code, result.stdout, result.stderr) == (0, "", ""), args


def test_quiet_still_reports_failures(with_tvdb: FakeTvdb) -> None:
    cli("add", "series", "424242")
    result = cli("--quiet", "import-missing", "series")
    assert result.exit_code == 1
    assert result.stdout == "" and "0 of 1 series imported" in result.stderr


def test_no_color_and_version(library: FakeTvdb) -> None:
    colored = run("status", env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    plain = run("status", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[32m" in colored.stdout  # "success" in green
    assert not re.search(r"\x1b\[(3[0-9]|9[0-7])(;|m)", plain.stdout + plain.stderr)  # no colour codes
    version = cli("--version")
    assert version.exit_code == 0 and version.stdout.startswith("seriesdata ")


def test_install_completion_is_offered() -> None:
    assert "--install-completion" in cli("--help").stdout


def test_list_marks_fall_back_to_words_on_ascii_output(library: FakeTvdb) -> None:
    result = run("list", "series", env={"PYTHONIOENCODING": "ascii"})
    assert result.exit_code == 0, result.stderr
    assert "yes" in result.stdout and "no" in result.stdout and "✓" not in result.stdout


def test_json_outputs_are_single_documents(library: FakeTvdb) -> None:
    for args in (["status"], ["list", "series"], ["logs"], ["cron"], ["config", "show"]):
        result = cli(*args, "--json")
        assert result.exit_code == 0
        json.loads(result.stdout)
        assert result.stdout.count("\n") == 1, args


def test_m003_migrates_a_schema_2_database_and_logs_keep_working(db_path: Path) -> None:
    """A file written by the previous version gains the logs index and keeps its rows."""
    import sqlite3
    from contextlib import closing

    from seriesdata.storage import migrations

    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT)"
        )
        conn.execute("BEGIN")
        for number, step in enumerate(migrations.MIGRATIONS[:2], start=1):
            step(conn)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01 00:00:00')", (number, step.__name__)
            )
        conn.execute(
            "INSERT INTO job_logs (job_class, status, message, created_at) VALUES"
            " ('ImportMissingSeriesDataJob', 'success', 'old run', '2026-01-01 00:00:00')"
        )
        conn.execute("COMMIT")

    rows = cli("logs", "--json").json()

    assert [row["message"] for row in rows] == ["old run"]
    assert query(db_path, "SELECT max(id) FROM schema_migrations") == [(3,)]
    assert query(db_path, "SELECT count(*) FROM sqlite_master WHERE name = 'job_logs_by_run'") == [(1,)]
