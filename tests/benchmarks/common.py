"""What the benchmarks share: the result row, the CLI as a measured subprocess, cached databases."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seriesdata.storage.migrations import MIGRATIONS
from tests.helpers import Result

# Bump when the generated databases change shape, so stale caches are rebuilt.
BUILD_VERSION = 1
CACHE = Path(os.environ.get("SERIESDATA_BENCH_CACHE", Path(tempfile.gettempdir()) / "seriesdata-bench"))

# Runs a command and prints its wall time and peak RSS: RUSAGE_CHILDREN of a fresh process holds
# exactly one child, so the figure is that command's own, not the largest of everything run so far.
_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
peak = peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024
print(json.dumps({"exit_code": proc.returncode, "seconds": seconds, "peak_mb": peak,
                  "stdout": proc.stdout.decode(), "stderr": proc.stderr.decode()}))
"""


@dataclass
class Row:
    benchmark: str
    setting: str
    measured: str
    target: str = ""
    ok: bool | None = None  # None: no target, only a figure

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "NO", None: ""}[self.ok]


@dataclass
class Measured(Result):
    """A CLI run's result (exit code, output, JSON helpers) plus its wall time and peak memory."""

    seconds: float = 0.0
    peak_mb: float = 0.0


@dataclass
class Context:
    quick: bool = False
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="seriesdata-bench-home-")))

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: no user config, no SERIESDATA_* from the caller's shell."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SERIESDATA_")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / "config"), NO_COLOR="1")
        env.update(XDG_DATA_HOME=str(self.home / "data"))
        env.update(extra)
        return env


def seriesdata_command() -> list[str]:
    """The installed console script next to this interpreter, as a user or a script would call it."""
    script = Path(sys.executable).with_name("seriesdata")
    return [str(script)] if script.exists() else [sys.executable, "-m", "seriesdata"]


def measure(args: Sequence[str], env: dict[str, str], check: bool = True) -> Measured:
    """Run `seriesdata ARGS` in a fresh process; wall time and peak memory of that process alone."""
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *seriesdata_command(), *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = Measured(**json.loads(proc.stdout))
    if check and result.exit_code != 0:
        raise RuntimeError(f"seriesdata {' '.join(args)} exited {result.exit_code}: {result.stderr.strip()}")
    return result


def median_of(runs: int, action: Callable[[], Measured]) -> Measured:
    """The run with the median wall time (its peak memory comes with it)."""
    results = sorted((action() for _ in range(runs)), key=lambda m: m.seconds)
    return results[len(results) // 2]


def new_database(path: Path) -> sqlite3.Connection:
    """A database at the current schema, made by the product's own migrations."""
    from seriesdata.storage.db import close_database, open_database

    path.unlink(missing_ok=True)
    open_database(path)
    close_database()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    return conn


def cached_database(name: str, build: Callable[[Path], None]) -> Path:
    """`build(path)` once per schema and build version; later runs reuse the file."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}-schema{len(MIGRATIONS)}-v{BUILD_VERSION}.db"
    if not path.exists():
        partial = path.with_suffix(".building")
        build(partial)
        conn = sqlite3.connect(partial)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        partial.rename(path)
    return path


def fake_database(fake: Any, episodes_per_series: int | None = None) -> Callable[[Path], None]:
    """A builder for the state after `import-missing series` against `fake`: every series imported,
    its episodes (all, or the first `episodes_per_series`) recorded without data."""

    def build(path: Path) -> None:
        conn = new_database(path)
        conn.execute("BEGIN")
        for number, series in enumerate(fake.series.values(), start=1):
            conn.execute(
                "INSERT INTO series (id, tvdb_id, name, original_language, data_last_updated_at)"
                " VALUES (?, ?, ?, ?, '2024-01-01 00:00:00')",
                (number, series.id, series.name, series.original_language),
            )
            episodes = [fake.episodes[key] for key in fake._series_eps[series.id]][:episodes_per_series]
            conn.executemany(
                "INSERT INTO episodes (series_id, tvdb_id, season_number, number) VALUES (?, ?, ?, ?)",
                ((number, episode.id, episode.season, episode.number) for episode in episodes),
            )
        conn.execute("COMMIT")
        conn.close()

    return build


def scratch_copy(source: Path, name: str) -> Path:
    """A throw-away copy of a cached database, for benchmarks that write."""
    target = CACHE / "scratch" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
