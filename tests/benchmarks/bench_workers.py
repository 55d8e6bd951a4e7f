"""Parallelism: items/s by worker count against the fake TheTVDB with 50 ms latency per request.

No rate limit, and items that cannot be coalesced: each series misses one episode, so every item is
one `/episodes/{id}/extended` request. The bound is workers / latency; items/s is the run's own
figure (`processed / duration_seconds` of its JSON report, which includes creating the HTTP client,
selection and writing), the best of 3 runs on a fresh copy of the database.
"""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks.common import Context, Row, cached_database, fake_database, measure, scratch_copy

LATENCY = 0.05
WORKERS = (1, 2, 4, 8)
SECONDS_PER_RUN = 4.0
REPEATS = 3  # best of: other processes on the machine only ever make a run slower
SERIES = 1_000


def run(ctx: Context) -> list[Row]:
    from tests.fakes.tvdb_server import FakeTvdb

    rows: list[Row] = []
    rates: dict[int, float] = {}
    with FakeTvdb(api_key="bench-key") as fake:
        for index in range(SERIES):
            fake.add_series(400_001 + index, episodes=1)
        source = cached_database(f"workers-{SERIES}", fake_database(fake, episodes_per_series=1))
        fake.set_faults(latency=LATENCY)
        env = ctx.env(
            SERIESDATA_TVDB_URL=fake.url,
            SERIESDATA_TVDB_API_KEY="bench-key",
            SERIESDATA_TVDB_RATE_LIMIT="0",
            SERIESDATA_PROVIDER="tvdb",
        )
        for workers in WORKERS:
            bound = workers / LATENCY
            items = min(SERIES, int(bound * SECONDS_PER_RUN))
            rate = rates[workers] = max(once(source, env, workers, items) for _ in range(REPEATS))
            share = rate / bound
            rows.append(
                Row(
                    "items/s, 50 ms latency",
                    f"{workers} worker{'s' * (workers > 1)}, {items} items, best of {REPEATS}",
                    f"{rate:.1f} items/s = {share:.0%} of bound {bound:.0f}",
                    ">= 85% of bound" if workers == WORKERS[-1] else "",
                    share >= 0.85 if workers == WORKERS[-1] else None,
                )
            )
    speedup = rates[WORKERS[-1]] / rates[1]
    rows.append(
        Row(
            "speed-up",
            f"{WORKERS[-1]} workers vs 1",
            f"{speedup:.2f}x",
            ">= 5x",
            speedup >= 5,
        )
    )
    return rows


def once(source: Path, env: dict[str, str], workers: int, items: int) -> float:
    db = scratch_copy(source, "workers.db")
    args = ["--db", str(db), "import-missing", "episodes", "--workers", str(workers)]
    report = measure([*args, "--limit", str(items), "--json"], env).json()
    assert report["imported"] == items and report["coalesced"] == 0, report
    return report["imported"] / report["duration_seconds"]
