"""End to end: the real CLI against the fake TheTVDB over a socket, then the SQLite file read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.tvdb_server import FakeTvdb
from tests.helpers import cli, dump, query


def test_seed_example_five_runs_of_100(with_tvdb: FakeTvdb, db_path: Path) -> None:
    series_ids = with_tvdb.generate(series=5, episodes_per_series=100, specials=0)
    assert cli("add", "series", *map(str, series_ids)).exit_code == 0
    assert cli("import-missing", "series").exit_code == 0
    assert query(db_path, "SELECT count(*) FROM episodes WHERE data_last_updated_at IS NULL") == [(500,)]

    remaining = []
    for _ in range(5):
        result = cli("import-missing", "episodes", "--json")
        assert result.exit_code == 0, result.stderr
        report = result.json()
        assert (report["processed"], report["imported"], report["failed"]) == (100, 100, 0)
        remaining.append(report["remaining"])

    assert remaining == [400, 300, 200, 100, 0]
    assert query(db_path, "SELECT count(*) FROM episodes WHERE data_last_updated_at IS NULL") == [(0,)]


def test_series_import_reads_translations_and_every_page(with_tvdb: FakeTvdb, db_path: Path) -> None:
    with_tvdb.page_size = 10  # 25 episodes over three pages
    with_tvdb.add_series(
        78878,
        original_language="jpn",
        english_name="FLCL",
        episodes=25,
        specials=1,
        image="/banners/posters/78878-1.jpg",
    )

    assert cli("add", "series", "78878").exit_code == 0
    assert cli("import-missing", "series").exit_code == 0

    ((name, language, image, updated),) = query(
        db_path, "SELECT name, original_language, image_url, data_last_updated_at FROM series"
    )
    assert (name, language) == ("FLCL", "jpn")
    assert image == "https://artworks.thetvdb.com/banners/posters/78878-1.jpg"
    assert updated is not None
    # Regular episodes recorded from all three pages, no data yet; the special left out.
    rows = query(db_path, "SELECT season_number, number, data_last_updated_at FROM episodes")
    assert len(rows) == 25
    assert {row[0] for row in rows} == {1}
    assert all(row[2] is None for row in rows)
    assert with_tvdb.count("/series/78878/episodes/default") == 3


def test_include_specials_records_season_zero(with_tvdb: FakeTvdb, db_path: Path) -> None:
    with_tvdb.add_series(81189, episodes=5, specials=2)
    cli("add", "series", "81189")

    assert cli("import-missing", "series", "--include-specials").exit_code == 0

    assert query(db_path, "SELECT count(*) FROM episodes WHERE season_number = 0") == [(2,)]


def test_episode_with_null_name_falls_back_to_translation(with_tvdb: FakeTvdb, db_path: Path) -> None:
    with_tvdb.add_series(81797, original_language="jpn", english_name="One Piece", episodes=3)
    episode = with_tvdb.add_episode(
        81797, 1, 4, name=None, translations={"eng": {"name": "Romance Dawn", "overview": "x"}}
    )
    cli("add", "series", "81797")
    cli("import-missing", "series")

    assert cli("import-missing", "episodes").exit_code == 0

    assert query(db_path, "SELECT name FROM episodes WHERE tvdb_id = ?", (episode.id,)) == [("Romance Dawn",)]


def test_job_logs_rows_are_as_specified(with_tvdb: FakeTvdb, db_path: Path) -> None:
    with_tvdb.add_series(81189, episodes=3)
    cli("add", "series", "81189", "424242")

    result = cli("import-missing", "series", "--json")

    assert result.exit_code == 1  # 424242 is unknown upstream: partial
    report = result.json()
    assert report["status"] == "partial"
    run = query(
        db_path,
        "SELECT job_class, status, message, context, loggable_type, finished_at,"
        " duration_seconds FROM job_logs WHERE id = ?",
        (report["job_log_id"],),
    )[0]
    assert run[:3] == (
        "ImportMissingSeriesDataJob",
        "partial",
        "SeriesDataJob for 1 of 2 series imported (0 remaining, 1 deferred)",
    )
    context = json.loads(run[3])
    for key in (
        "processed",
        "imported",
        "failed",
        "remaining",
        "deferred",
        "limit",
        "workers",
        "provider",
        "api_requests",
    ):
        assert key in context
    assert context["provider"] == "tvdb" and context["deferred"] == 1
    assert run[4] is None and run[5] is not None and run[6] >= 0

    items = query(
        db_path,
        "SELECT job_class, status, loggable_type, loggable_id, exception"
        " FROM job_logs WHERE run_id = ? ORDER BY loggable_id",
        (report["job_log_id"],),
    )
    series_rows = dict(query(db_path, "SELECT tvdb_id, id FROM series"))
    assert items == [
        ("SeriesDataJob", "success", "series", series_rows[81189], None),
        (
            "SeriesDataJob",
            "failed",
            "series",
            series_rows[424242],
            "not found upstream (HTTP 404 for /v4/series/424242/extended)",
        ),
    ]
    assert set(report) >= {"job", "status", "duration_seconds", "job_log_id"}


def test_dry_run_changes_nothing(with_tvdb: FakeTvdb, db_path: Path) -> None:
    with_tvdb.add_series(81189, episodes=3)
    cli("add", "series", "81189")
    before = dump(db_path)

    result = cli("import-missing", "series", "--dry-run", "--json")

    assert result.exit_code == 0
    report = result.json()
    assert report["dry_run"] is True
    assert (report["selected"], report["remaining"], report["deferred"]) == (1, 1, 0)
    assert report["items"] == [{"id": 1, "attempts": 0, "tvdb_id": 81189}]
    assert with_tvdb.count() == 0
    assert dump(db_path) == before


def test_until_done_prints_json_lines(with_tvdb: FakeTvdb, db_path: Path) -> None:
    with_tvdb.add_series(81189, episodes=250)
    cli("add", "series", "81189")
    cli("import-missing", "series")

    result = cli("import-missing", "episodes", "--until-done", "--json")

    assert result.exit_code == 0
    runs = result.json_lines()
    assert [run["remaining"] for run in runs] == [150, 50, 0]
    assert len({run["job_log_id"] for run in runs}) == 3


def test_token_is_reused_across_runs_and_renewed_once(with_tvdb: FakeTvdb, db_path: Path) -> None:
    with_tvdb.add_series(81189, episodes=2)
    with_tvdb.add_series(121361, episodes=2)
    cli("add", "series", "81189")
    cli("import-missing", "series")
    cli("add", "series", "121361")
    cli("import-missing", "series")
    assert with_tvdb.logins == 1

    with_tvdb.expire_tokens()
    assert cli("import-missing", "episodes").exit_code == 0
    assert with_tvdb.logins == 2
    token = query(db_path, "SELECT value FROM provider_state WHERE key = 'token'")[0][0]
    assert token in with_tvdb.tokens


def test_add_series_from_csv_file_and_stdin(db_path: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "ids.csv"
    csv_file.write_text("name,tvdb_id\nBreaking Bad,81189\nGame of Thrones,121361\n")

    assert cli("add", "series", "--file", str(csv_file)).exit_code == 0
    result = cli("add", "series", "--file", "-", "--json", input="81189\n# comment\n\n78878\n")

    assert result.exit_code == 0
    assert result.json() == {"added": [78878], "existing": [81189]}
    assert query(db_path, "SELECT tvdb_id FROM series ORDER BY tvdb_id") == [
        (78878,),
        (81189,),
        (121361,),
    ]


def test_add_series_import_imports_only_what_was_added(with_tvdb: FakeTvdb, db_path: Path) -> None:
    present, waiting, new = with_tvdb.generate(series=3, episodes_per_series=2, specials=0)
    assert cli("add", "series", str(present), "--import").exit_code == 0
    assert cli("add", "series", str(waiting)).exit_code == 0  # missing, but not asked for below

    result = cli("add", "series", str(present), str(new), "--import", "--json")

    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert (report["processed"], report["imported"], report["remaining"]) == (1, 1, 1)
    imported = query(db_path, "SELECT tvdb_id FROM series WHERE data_last_updated_at IS NOT NULL ORDER BY 1")
    assert imported == sorted([(present,), (new,)])


def test_add_episode_then_import_it(with_tvdb: FakeTvdb, db_path: Path) -> None:
    series = with_tvdb.add_series(81189, episodes=3)
    cli("add", "series", "81189")
    episode = (
        with_tvdb.episodes[sorted(series.episode_ids)[1]]
        if hasattr(series, "episode_ids")
        else next(e for e in with_tvdb.episodes.values() if e.number == 2)
    )

    assert cli("add", "episode", "--series", "81189", "--season", "1", "--number", "2").exit_code == 0
    assert cli("add", "episode", "--series", "81189", "--season", "1", "--number", "2").exit_code == 0
    assert cli("import-missing", "episodes").exit_code == 0

    assert query(db_path, "SELECT tvdb_id, name FROM episodes") == [(episode.id, episode.name)]


def test_summary_names_the_failed_items_even_when_quiet(with_tvdb: FakeTvdb) -> None:
    with_tvdb.add_series(81189, episodes=1)
    cli("add", "series", "81189", "5", "6", "7", "8")

    result = cli("import-missing", "series", "--quiet", "--workers", "1")

    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "SeriesDataJob for 1 of 5 series imported (0 remaining, 4 deferred)"
    assert lines[1:4] == [
        f"  series {n}: not found upstream (HTTP 404 for /v4/series/{n}/extended)" for n in (5, 6, 7)
    ]
    assert "seriesdata logs --status failed" in lines[4]


def test_a_changed_api_key_is_not_covered_by_the_old_keys_token(
    with_tvdb: FakeTvdb, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_tvdb.add_series(81189, episodes=2)
    with_tvdb.add_series(121361, episodes=2)
    cli("add", "series", "81189")
    assert cli("import-missing", "series").exit_code == 0
    cli("add", "series", "121361")

    monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", "a-wrong-key")
    result = cli("import-missing", "series")

    assert result.exit_code == 1
    assert "refused the API key" in result.stderr
    assert with_tvdb.logins == 1  # the wrong key's login was refused; nothing was fetched with it
