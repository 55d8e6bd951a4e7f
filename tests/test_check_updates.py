"""`check-updates` end to end: the real CLI, the fake APIs' change feeds, the SQLite file read back."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.base import Request, json_response
from tests.fakes.tvdb_server import FakeTvdb
from tests.fakes.tvmaze_server import FakeTvmaze
from tests.helpers import cli, dump, query


def imported_library(tvdb: FakeTvdb, db_path: Path, series: int = 20, episodes: int = 0) -> list[int]:
    ids = tvdb.generate(series=series, episodes_per_series=episodes, specials=0)
    assert cli("add", "series", *map(str, ids)).exit_code == 0
    assert cli("import-missing", "series").exit_code == 0
    if episodes:
        assert cli("import-missing", "episodes", "--limit", "0").exit_code == 0
    tvdb.reset_log()
    return ids


def execute(db_path: Path, sql: str, params: tuple = ()) -> None:
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute(sql, params)


def age(db_path: Path, table: str, days: float, where: str = "1") -> None:
    """Make data look `days` old (as if imported then)."""
    sql = f"UPDATE {table} SET data_last_updated_at = datetime('now', ?) WHERE {where}"
    execute(db_path, sql, (f"-{days * 24} hours",))


def rename(tvdb: FakeTvdb, tvdb_id: int, name: str) -> None:
    tvdb.change_series(tvdb_id, translations={"eng": {"name": name, "overview": f"{name}."}})


def fetched(tvdb: FakeTvdb, ids: list[int]) -> set[int]:
    return {tvdb_id for tvdb_id in ids if tvdb.count(f"/series/{tvdb_id}/extended")}


def watermark(db_path: Path, provider: str = "tvdb") -> str | None:
    rows = query(
        db_path,
        "SELECT value FROM provider_state WHERE provider = ? AND key = 'feed_watermark'",
        (provider,),
    )
    return rows[0][0] if rows else None


def set_watermark(db_path: Path, moment: datetime, provider: str = "tvdb") -> None:
    value = moment.strftime("%Y-%m-%d %H:%M:%S")
    for key in ("feed_watermark", "feed_coverage"):
        execute(
            db_path,
            "INSERT OR REPLACE INTO provider_state (provider, key, value) VALUES (?, ?, ?)",
            (provider, key, value),
        )


def test_only_series_changed_upstream_are_refetched(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path)
    age(db_path, "series", days=2)
    changed = ids[3:6]
    for tvdb_id in changed:
        rename(with_tvdb, tvdb_id, f"Renamed {tvdb_id}")
    with_tvdb.reset_log()

    result = cli("check-updates", "series", "--hours", "24", "--changed-only", "--json")

    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["job"] == "CheckSeriesDataUpdatesJob" and report["status"] == "success"
    assert (report["processed"], report["imported"], report["failed"]) == (3, 3, 0)
    assert report["skipped_unchanged"] == 17 and report["remaining"] == 0
    assert report["feed"] == "read" and report["changed_upstream"] == 3
    assert "fallback_reason" not in report and "warning" not in result.stderr
    assert fetched(with_tvdb, ids) == set(changed)
    assert with_tvdb.count("/updates") == 1
    assert report["api_requests"] == with_tvdb.count() == 1 + 3 * 2  # feed + (series + episode list) x 3
    marks = ",".join("?" * len(changed))
    names = query(
        db_path, f"SELECT name FROM series WHERE tvdb_id IN ({marks}) ORDER BY tvdb_id", tuple(changed)
    )
    assert names == [(f"Renamed {tvdb_id}",) for tvdb_id in changed]
    fresh = query(
        db_path, "SELECT count(*) FROM series WHERE data_last_updated_at > datetime('now', '-1 hour')"
    )
    assert fresh == [(3,)]
    (run,) = query(db_path, "SELECT message FROM job_logs WHERE job_class = 'CheckSeriesDataUpdatesJob'")
    assert (
        run[0] == "SeriesDataJob for 3 of 3 series refreshed (0 remaining, 3 changed upstream, 17 unchanged)"
    )
    items = query(db_path, "SELECT count(*) FROM job_logs WHERE job_class = 'SeriesDataJob'"
                  " AND run_id IS NOT NULL AND message LIKE 'Refreshed%'")  # fmt: skip
    assert items == [(3,)]

    # Nothing changed since: the next run reads the feed from its watermark and fetches nothing.
    with_tvdb.reset_log()
    again = cli("check-updates", "series", "--json").json()
    assert (again["processed"], again["skipped_unchanged"]) == (0, 17)
    assert with_tvdb.count() == 1 and with_tvdb.count("/updates") == 1


def test_a_series_refresh_records_new_episodes(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=3, episodes=2)
    age(db_path, "series", days=2)
    with_tvdb.add_episode(ids[0], 1, 3)
    with_tvdb.change_series(ids[0])

    assert cli("check-updates", "series").exit_code == 0

    rows = query(db_path, "SELECT count(*) FROM episodes e JOIN series s ON s.id = e.series_id"
                 " WHERE s.tvdb_id = ?", (ids[0],))  # fmt: skip
    assert rows == [(3,)]


def test_max_age_net_refreshes_old_data_whatever_the_feed_says(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=10)
    age(db_path, "series", days=2)
    age(db_path, "series", days=40, where=f"tvdb_id IN ({ids[0]}, {ids[1]})")
    rename(with_tvdb, ids[5], "Changed")

    result = cli("check-updates", "series", "--json")

    report = result.json()
    assert result.exit_code == 0 and report["feed"] == "read"
    assert fetched(with_tvdb, ids) == {ids[0], ids[1], ids[5]}
    assert report["skipped_unchanged"] == 7
    # A shorter --max-age takes everything older than it.
    age(db_path, "series", days=3)
    with_tvdb.reset_log()
    assert cli("check-updates", "series", "--max-age", "2").exit_code == 0
    assert fetched(with_tvdb, ids) == set(ids)


def test_all_stale_ignores_the_feed(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=5)
    age(db_path, "series", days=2)
    with_tvdb.reset_log()

    report = cli("check-updates", "series", "--all-stale", "--json").json()

    assert report["feed"] == "off" and report["processed"] == 5
    assert with_tvdb.count("/updates") == 0 and fetched(with_tvdb, ids) == set(ids)


def test_feed_failure_falls_back_to_age_loudly(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=6)
    age(db_path, "series", days=2)
    rename(with_tvdb, ids[0], "Changed")
    with_tvdb.fail_next(
        r"/v4/updates", 502, times=10, body="<html>502 Bad Gateway</html>", content_type="text/html"
    )

    result = cli("check-updates", "series", "--json")

    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["feed"] == "failed" and "change feed failed" in report["fallback_reason"]
    assert "warning: change feed failed" in result.stderr
    assert fetched(with_tvdb, ids) == set(ids) and report["processed"] == 6
    (run,) = query(
        db_path, "SELECT message, context FROM job_logs WHERE job_class = 'CheckSeriesDataUpdatesJob'"
    )
    assert "refreshing every stale item by age" in run[0] and "fallback_reason" in run[1]
    assert watermark(db_path) is None  # nothing read, nothing advanced


def test_watermark_older_than_the_feed_reaches_restarts_loudly(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=6)
    age(db_path, "series", days=2)
    age(db_path, "series", days=20, where=f"tvdb_id = {ids[1]}")
    age(db_path, "series", days=95, where=f"tvdb_id = {ids[2]}")
    set_watermark(db_path, datetime.now(UTC).replace(tzinfo=None) - timedelta(days=100))
    rename(with_tvdb, ids[0], "Changed")

    result = cli("check-updates", "series", "--max-age", "120", "--json")

    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["feed"] == "restarted" and "older than the feed reaches back" in report["fallback_reason"]
    assert "warning: the last feed read" in result.stderr
    (hit,) = with_tvdb.hits("/updates")
    assert hit.status == 200  # asked within the 90 days, not refused
    assert int(hit.query["since"]) >= with_tvdb.clock() - 90 * 86400
    # The feed speaks for what it reaches; data from before the restart is refreshed by age.
    assert fetched(with_tvdb, ids) == {ids[0], ids[2]}
    assert watermark(db_path) > (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")


def test_feed_refusing_since_falls_back(with_tvdb: FakeTvdb, db_path: Path) -> None:
    """TheTVDB's own clock decides the 90 days: a 400 there is a fallback, not a crash."""
    ids = imported_library(with_tvdb, db_path, series=3)
    age(db_path, "series", days=2)
    with_tvdb.clock = lambda: datetime.now(UTC).timestamp() + 95 * 86400  # type: ignore[method-assign]

    result = cli("check-updates", "series", "--json")

    report = result.json()
    assert report["feed"] == "failed" and "HTTP 400" in report["fallback_reason"]
    assert fetched(with_tvdb, ids) == set(ids)


def test_watermark_advances_only_after_a_complete_read(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=8)
    age(db_path, "series", days=2)
    with_tvdb.updates_page_size = 2
    for tvdb_id in ids[:5]:  # five events: pages 0, 1, 2
        rename(with_tvdb, tvdb_id, f"Renamed {tvdb_id}")
    fail_page(with_tvdb, page=1)

    report = cli("check-updates", "series", "--json").json()
    with_tvdb._routes.pop(0)  # the page is served again

    assert report["feed"] == "failed" and watermark(db_path) is None
    assert query(db_path, "SELECT count(*) FROM series WHERE upstream_changed_at IS NOT NULL") == [(0,)]
    assert report["processed"] == 8  # fell back to age

    age(db_path, "series", days=2)
    with_tvdb.reset_log()
    report = cli("check-updates", "series", "--json").json()
    assert report["feed"] == "read" and report["feed_requests"] == 3
    assert [hit.query["page"] for hit in with_tvdb.hits("/updates")] == ["0", "1", "2"]
    assert fetched(with_tvdb, ids) == set(ids[:5]) and watermark(db_path) is not None


def fail_page(tvdb: FakeTvdb, page: int) -> None:
    """Answer 502 to every request for one page of /updates (the others are served as usual)."""
    served = tvdb._get_updates

    def updates(req: Request) -> object:
        if req.query.get("page") == str(page):
            return json_response(502, {"status": "failure", "message": "Bad Gateway", "data": None})
        return served(req)

    tvdb._routes.insert(0, ("GET", re.compile(r"/updates/?\Z"), updates))


def test_limit_and_interruption_lose_no_changes(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=6)
    age(db_path, "series", days=2)
    for tvdb_id in ids[:4]:
        rename(with_tvdb, tvdb_id, f"Renamed {tvdb_id}")

    first = cli("check-updates", "series", "--limit", "1", "--json").json()
    second = cli("check-updates", "series", "--json").json()

    assert (first["processed"], first["remaining"]) == (1, 3)
    assert (second["processed"], second["remaining"], second["skipped_unchanged"]) == (3, 0, 2)
    assert fetched(with_tvdb, ids) == set(ids[:4])


def test_deleted_upstream_is_marked_not_deleted(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=4, episodes=2)
    age(db_path, "series", days=2)
    with_tvdb.delete_series(ids[0])
    with_tvdb.reset_log()

    report = cli("check-updates", "series", "--json").json()

    assert report["removed_upstream"] == 1 and report["processed"] == 0
    assert with_tvdb.count(f"/series/{ids[0]}") == 0
    rows = query(
        db_path, "SELECT name, removed_upstream_at IS NOT NULL FROM series WHERE tvdb_id = ?", (ids[0],)
    )
    assert rows[0][0] is not None and rows[0][1] == 1
    episodes = query(db_path, "SELECT count(*) FROM episodes e JOIN series s ON s.id = e.series_id"
                     " WHERE s.tvdb_id = ? AND e.removed_upstream_at IS NOT NULL", (ids[0],))  # fmt: skip
    assert episodes == [(2,)]

    # status and list show them: counted, marked beside the imported mark, and listed by --removed.
    assert cli("status", "--json").json()["series"]["removed_upstream"] == 1
    listed = cli("list", "series", "--removed", "--json").json()
    assert [row["tvdb_id"] for row in listed] == [ids[0]]
    table = cli("list", "series").stdout
    assert table.count("removed upstream") == 1
    assert [line for line in table.splitlines() if "removed upstream" in line][0].startswith(f"│ {ids[0]} ")


def test_not_found_on_refresh_marks_removed_and_is_not_retried(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=3)
    age(db_path, "series", days=40)
    del with_tvdb.series[ids[0]]  # gone without a feed event

    result = cli("check-updates", "series", "--json")

    report = result.json()
    assert result.exit_code == 0 and report["status"] == "success"
    assert (report["processed"], report["imported"], report["failed"]) == (3, 2, 0)
    assert report["removed_upstream"] == 1
    kept = query(db_path, "SELECT name IS NOT NULL, removed_upstream_at IS NOT NULL FROM series"
                 " WHERE tvdb_id = ?", (ids[0],))  # fmt: skip
    assert kept == [(1, 1)]
    age(db_path, "series", days=40)
    with_tvdb.reset_log()
    again = cli("check-updates", "series", "--json").json()
    assert again["processed"] == 2 and again["deferred"] == 1 and with_tvdb.count(f"/series/{ids[0]}") == 0
    retried = cli("check-updates", "series", "--retry-failed", "--json").json()
    assert retried["processed"] == 1 and with_tvdb.count(f"/series/{ids[0]}") == 1


def test_dry_run_reads_the_feed_and_writes_nothing(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=5)
    age(db_path, "series", days=2)
    rename(with_tvdb, ids[2], "Changed")
    before = dump(db_path)

    result = cli("check-updates", "series", "--dry-run", "--json")

    report = result.json()
    assert result.exit_code == 0 and report["dry_run"] is True
    assert (report["selected"], report["skipped_unchanged"]) == (1, 4)
    assert [item["tvdb_id"] for item in report["items"]] == [ids[2]]
    assert dump(db_path) == before
    assert with_tvdb.count("/series/") == 0


def test_episodes_of_a_changed_series_share_one_list_read(with_tvdb: FakeTvdb, db_path: Path) -> None:
    ids = imported_library(with_tvdb, db_path, series=4, episodes=6)
    age(db_path, "episodes", days=3)
    (episode_id,) = query(
        db_path,
        "SELECT e.tvdb_id FROM episodes e JOIN series s ON s.id = e.series_id WHERE s.tvdb_id = ?"
        " ORDER BY e.number LIMIT 1",
        (ids[1],),
    )[0]
    with_tvdb.change_episode(episode_id, name="New title")
    with_tvdb.reset_log()

    result = cli("check-updates", "episodes", "--json")

    report = result.json()
    assert result.exit_code == 0, result.stderr
    assert report["job"] == "CheckEpisodesDataUpdatesJob"
    assert (report["processed"], report["coalesced"], report["skipped_unchanged"]) == (6, 6, 18)
    assert with_tvdb.count(f"/series/{ids[1]}/episodes/default") == 1
    assert with_tvdb.count("/episodes/") == 0 and with_tvdb.count("/series/") == 1
    assert query(db_path, "SELECT name FROM episodes WHERE tvdb_id = ?", (episode_id,)) == [("New title",)]
    items = query(
        db_path, "SELECT DISTINCT job_class FROM job_logs WHERE run_id = ?", (report["job_log_id"],)
    )
    assert items == [("EpisodeDataJob",)]


@pytest.fixture
def tvmaze_library(with_tvmaze: FakeTvmaze, monkeypatch: pytest.MonkeyPatch, db_path: Path) -> list[int]:
    monkeypatch.setenv("SERIESDATA_TVMAZE_RATE_LIMIT", "0")
    with_tvmaze.rate_limit = None
    shows = with_tvmaze.generate(shows=8, episodes_per_show=2, specials=0)
    for show_id in shows:  # last edited upstream before our import
        with_tvmaze.shows[show_id]["updated"] = int(with_tvmaze.clock()) - 5 * 86400
    tvdb_ids = [100_001 + i for i in range(len(shows))]
    assert cli("--provider", "tvmaze", "add", "series", *map(str, tvdb_ids)).exit_code == 0
    assert cli("--provider", "tvmaze", "import-missing", "series").exit_code == 0
    with_tvmaze.reset_log()
    return shows


def test_tvmaze_feed_picks_the_smallest_window(
    tvmaze_library: list[int], with_tvmaze: FakeTvmaze, db_path: Path
) -> None:
    age(db_path, "series", days=2)
    for show_id in tvmaze_library[:3]:
        with_tvmaze.change_show(show_id, name=f"Renamed {show_id}")
    with_tvmaze.reset_log()

    result = cli("--provider", "tvmaze", "check-updates", "series", "--json")

    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert (report["feed"], report["processed"], report["skipped_unchanged"]) == ("read", 3, 5)
    (hit,) = with_tvmaze.hits("/updates/shows")
    assert hit.query == {"since": "week"}  # two days back does not fit in a day
    refetched = {show_id for show_id in tvmaze_library if with_tvmaze.count(f"/shows/{show_id}/episodes")}
    assert refetched == set(tvmaze_library[:3])
    assert with_tvmaze.count() == 1 + 3 * 2
    names = query(db_path, "SELECT name FROM series WHERE name LIKE 'Renamed%' ORDER BY tvmaze_id")
    assert names == [(f"Renamed {show_id}",) for show_id in tvmaze_library[:3]]

    # The next read starts at the watermark: an hour back fits in a day.
    with_tvmaze.reset_log()
    assert cli("--provider", "tvmaze", "check-updates", "series").exit_code == 0
    (hit,) = with_tvmaze.hits("/updates/shows")
    assert hit.query == {"since": "day"}


def test_tvmaze_gap_beyond_a_month_restarts(
    tvmaze_library: list[int], with_tvmaze: FakeTvmaze, db_path: Path
) -> None:
    age(db_path, "series", days=2)
    set_watermark(db_path, datetime.now(UTC).replace(tzinfo=None) - timedelta(days=45), provider="tvmaze")

    result = cli("--provider", "tvmaze", "check-updates", "series", "--json")

    report = result.json()
    assert report["feed"] == "restarted" and "warning:" in result.stderr
    (hit,) = with_tvmaze.hits("/updates/shows")
    assert hit.query == {"since": "month"}


def test_m002_migrates_a_schema_1_database(db_path: Path) -> None:
    """A file written before check-updates existed gains the column and keeps its rows."""
    from seriesdata.storage import migrations

    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT)"
        )
        conn.execute("BEGIN")
        migrations.m001_initial(conn)
        conn.execute("INSERT INTO schema_migrations VALUES (1, 'm001_initial', '2024-01-01 00:00:00')")
        conn.execute("INSERT INTO series (tvdb_id, name) VALUES (81189, 'Breaking Bad')")
        conn.execute("COMMIT")

    assert cli("init").exit_code == 0

    assert query(db_path, "SELECT max(id) FROM schema_migrations") == [(len(migrations.MIGRATIONS),)]
    assert query(db_path, "SELECT name, upstream_changed_at FROM series") == [("Breaking Bad", None)]
