"""Coalescing: many episodes of one series cost one list read, and store exactly what single reads store."""

from __future__ import annotations

from pathlib import Path

import pytest

from seriesdata.jobs.work import Planner
from seriesdata.providers.base import EpisodeRef, SeriesRef
from seriesdata.providers.tvdb import TvdbProvider
from seriesdata.storage.catalogue import Item
from tests.fakes.tvdb_server import FakeTvdb
from tests.helpers import cli, query

EPISODE_COLUMNS = (
    "series_id, tvdb_id, season_number, number, name, overview, aired, runtime, image_url, url,"
    " tvmaze_id, translations, attempts, last_error"
)


def import_library(db: Path) -> dict:
    assert cli("--db", str(db), "add", "series", *map(str, range(100_001, 100_006))).exit_code == 0
    assert cli("--db", str(db), "import-missing", "series").exit_code == 0
    result = cli("--db", str(db), "import-missing", "episodes", "--limit", "0", "--json")
    assert result.exit_code == 0, result.stderr
    return result.json()


def never_coalesce(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost model is the only switch: a list read that costs more than any batch is never chosen."""
    monkeypatch.setattr(TvdbProvider, "episode_list_cost", lambda self, ref, episodes: 10**9)


def test_a_series_batch_costs_one_list_read(with_tvdb: FakeTvdb, db_path: Path) -> None:
    with_tvdb.add_series(100_001, episodes=40, seasons=2)
    cli("add", "series", "100001")
    cli("import-missing", "series")
    with_tvdb.reset_log()

    report = cli("import-missing", "episodes", "--limit", "0", "--json").json()

    assert (report["imported"], report["coalesced"], report["api_requests"]) == (40, 40, 1)
    assert with_tvdb.count("/series/100001/episodes/default") == 1
    assert with_tvdb.count("/episodes/") == 0


def test_per_episode_reads_cost_one_request_each(
    with_tvdb: FakeTvdb, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_tvdb.add_series(100_001, episodes=40, seasons=2)
    cli("add", "series", "100001")
    cli("import-missing", "series")
    never_coalesce(monkeypatch)
    with_tvdb.reset_log()

    report = cli("import-missing", "episodes", "--limit", "0", "--json").json()

    assert (report["imported"], report["coalesced"], report["api_requests"]) == (40, 0, 40)
    assert with_tvdb.count("/episodes/") == 40


def test_a_language_costs_one_list_read_when_episodes_have_it(with_tvdb: FakeTvdb, monkeypatch) -> None:
    monkeypatch.setenv("SERIESDATA_LANGUAGES", "deu,eng,fra")
    with_tvdb.add_series(100_001, episodes=30)
    for episode in with_tvdb.episodes.values():  # German titles exist; French ones do not
        episode.translations["deu"] = {"name": f"Folge {episode.number}", "overview": "Text."}
    cli("add", "series", "100001")
    cli("import-missing", "series")
    with_tvdb.reset_log()

    report = cli("import-missing", "episodes", "--limit", "0", "--json").json()

    assert (report["imported"], report["api_requests"]) == (30, 2)
    assert with_tvdb.count("/series/100001/episodes/default/deu") == 1
    assert with_tvdb.count("/series/100001/episodes/default/fra") == 0


def item(series_id: int, episode_id: int, language: str = "eng") -> Item:
    series = SeriesRef(tvdb_id=series_id, original_language=language)
    return Item(episode_id, 0, series_id, series, EpisodeRef(series, tvdb_id=episode_id))


def plan(languages: tuple[str, ...], items: list[Item], sizes: dict[int, int]) -> list[tuple[str, int]]:
    provider = TvdbProvider(api=None, api_key="k", languages=languages)  # type: ignore[arg-type]
    return [(unit.kind, len(unit.items)) for unit in Planner(provider, sizes).units("episodes", items)]


def test_a_lone_episode_is_read_by_itself() -> None:
    assert plan(("eng",), [item(1, 10)], {1: 100}) == [("episode", 1)]


def test_the_cost_model_weighs_pages_and_languages_against_the_batch() -> None:
    two = [item(1, 10), item(1, 11)]
    assert plan(("eng",), two, {1: 20}) == [("episodes", 2)]  # 1 request instead of 2
    assert plan(("eng", "deu"), two, {1: 20}) == [("episode", 1), ("episode", 1)]  # 2 is no saving
    three = [*two, item(1, 12)]
    assert plan(("eng", "deu"), three, {1: 20}) == [("episodes", 3)]
    # A long series needs one page per 500 episodes: three selected are not worth four pages.
    assert plan(("eng",), three, {1: 1800}) == [("episode", 1)] * 3


def test_batches_are_grouped_by_series_whatever_the_order() -> None:
    mixed = [item(1, 10), item(2, 20), item(1, 11), item(3, 30), item(2, 21), item(1, 12)]
    assert plan(("eng",), mixed, {1: 10, 2: 10, 3: 10}) == [("episodes", 3), ("episodes", 2), ("episode", 1)]


@pytest.mark.parametrize("languages", ["eng", "eng,jpn", "jpn,eng,deu"])
def test_coalesced_and_per_episode_imports_store_identical_data(
    tvdb: FakeTvdb, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, languages: str
) -> None:
    # Generated quirks: every 4th series Japanese-original, every 7th episode with `name: null`.
    tvdb.generate(series=5, episodes_per_series=15, seasons=2, specials=1)
    tvdb.add_episode(100_002, 2, 9, name=None, translations={})  # no text in any language
    monkeypatch.setenv("SERIESDATA_TVDB_URL", tvdb.url)
    monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", "test-key")
    monkeypatch.setenv("SERIESDATA_TVDB_RATE_LIMIT", "0")
    monkeypatch.setenv("SERIESDATA_LANGUAGES", languages)
    coalesced, single = tmp_path / "coalesced.db", tmp_path / "single.db"

    first = import_library(coalesced)
    never_coalesce(monkeypatch)
    second = import_library(single)

    assert first["imported"] == second["imported"] == 76
    assert first["coalesced"] == 76 and second["coalesced"] == 0
    assert first["api_requests"] < second["api_requests"] / 5
    sql = f"SELECT {EPISODE_COLUMNS} FROM episodes ORDER BY tvdb_id"
    assert query(coalesced, sql) == query(single, sql)
