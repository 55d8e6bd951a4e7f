"""Shared fixtures: local fake TheTVDB / TVmaze servers, one fresh server per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.tvdb_server import FakeTvdb
from tests.fakes.tvmaze_server import FakeTvmaze
from tests.helpers import API_KEY


@pytest.fixture
def tvdb() -> Iterator[FakeTvdb]:
    """Empty FakeTvdb (api_key "test-key", no pin) on an ephemeral port."""
    server = FakeTvdb()
    with server:
        yield server


@pytest.fixture
def tvmaze() -> Iterator[FakeTvmaze]:
    """Empty FakeTvmaze (20 calls / 10 s per IP) on an ephemeral port."""
    server = FakeTvmaze()
    with server:
        yield server


# --- isolation ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches the user's real database, config or environment."""
    for name in list(os.environ):
        if name.startswith("SERIESDATA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("SERIESDATA_DB", str(tmp_path / "catalogue.db"))
    monkeypatch.setenv("SERIESDATA_BACKOFF", "0.01")  # retries in tests must not sleep for long
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


@pytest.fixture
def db_path(isolated: Path) -> Path:
    return isolated / "catalogue.db"


@pytest.fixture
def with_tvdb(tvdb: FakeTvdb, monkeypatch: pytest.MonkeyPatch) -> FakeTvdb:
    """The fake TheTVDB, configured as the provider through the environment."""
    monkeypatch.setenv("SERIESDATA_TVDB_URL", tvdb.url)
    monkeypatch.setenv("SERIESDATA_TVDB_API_KEY", API_KEY)
    monkeypatch.setenv("SERIESDATA_TVDB_RATE_LIMIT", "0")
    return tvdb


@pytest.fixture
def with_tvmaze(tvmaze: FakeTvmaze, monkeypatch: pytest.MonkeyPatch) -> FakeTvmaze:
    monkeypatch.setenv("SERIESDATA_TVMAZE_URL", tvmaze.url)
    return tvmaze
