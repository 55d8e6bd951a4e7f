"""The missing-data scan must walk the partial indexes: no full scan, no sort of every missing row.

Timings prove nothing on a test-sized database, so these tests read SQLite's query plans for the very
statements the selection and the counts send (`tests/benchmarks` measures the time at 1M rows).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from seriesdata.storage import catalogue
from seriesdata.storage.db import close_database, open_database
from seriesdata.storage.models import db


@pytest.fixture
def statements(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list]]:
    open_database(db_path)
    db.execute_sql("INSERT INTO series (id, tvdb_id) VALUES (1, 81189)")
    for number in range(1, 6):
        db.execute_sql(
            "INSERT INTO episodes (series_id, season_number, number, attempts) VALUES (1, 1, ?, ?)",
            (number, number % 2),
        )
    sent: list[tuple[str, list]] = []
    execute = db.execute_sql

    def spy(sql: str, params: object = None, *args: object, **kwargs: object) -> object:
        sent.append((sql, list(params or ())))
        return execute(sql, params, *args, **kwargs)

    monkeypatch.setattr(db, "execute_sql", spy)
    yield sent
    monkeypatch.undo()
    close_database()


def plan(sql: str, params: list) -> str:
    rows = db.connection().execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()  # not through the spy
    return "\n".join(row[-1] for row in rows)


@pytest.mark.parametrize("entity", [catalogue.SERIES, catalogue.EPISODES], ids=lambda e: e.table)
@pytest.mark.parametrize("retry_failed", [False, True])
def test_selection_seeks_the_partial_index_in_keyset_order(statements, entity, retry_failed) -> None:
    chunks = list(catalogue.missing_items(entity, datetime(2030, 1, 1), retry_failed, chunk=2))

    assert sum(len(chunk) for chunk in chunks) == (1 if entity is catalogue.SERIES else 5)
    assert statements
    for sql, params in statements:
        text = plan(sql, params)
        assert f"USING INDEX {entity.table}_missing (attempts" in text, text
        assert "TEMP B-TREE" not in text, text


def test_episode_chunks_come_in_attempts_then_id_order(statements) -> None:
    chunks = list(catalogue.missing_items(catalogue.EPISODES, datetime(2030, 1, 1), True, chunk=2))

    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert [(item.attempts, item.id) for chunk in chunks for item in chunk] == [
        (0, 2), (0, 4), (1, 1), (1, 3), (1, 5)
    ]  # fmt: skip


@pytest.mark.parametrize("entity", [catalogue.SERIES, catalogue.EPISODES], ids=lambda e: e.table)
def test_counts_read_indexes_only(statements, entity) -> None:
    catalogue.missing_counts(entity, datetime(2030, 1, 1))

    plans = [plan(sql, params) for sql, params in statements]
    assert len(plans) == 2
    assert all("COVERING INDEX" in text or f"{entity.table}_missing_next" in text for text in plans), plans
    assert not any(text.startswith("SCAN") and "INDEX" not in text for text in plans), plans
