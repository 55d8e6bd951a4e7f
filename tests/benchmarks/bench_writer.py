"""Writer cost: what storing one fetched episode costs the single writer thread.

Drives `Runner._write_batch` (the writer's own code path: one transaction per batch of results that
arrived together, each item's UPDATE and `job_logs` row in a savepoint) directly, on a copy of the
100k-episode database, for 2,000 missing episodes: one item per transaction (a lone per-episode
result, the worst case) and 100 per transaction (one series' coalesced read).
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime

from tests.benchmarks.bench_scale import scale_database
from tests.benchmarks.common import Context, Row, scratch_copy

ITEMS = 2_000
TARGET_MS = 1.0


def run(ctx: Context) -> list[Row]:
    from seriesdata.jobs.definitions import IMPORT_MISSING
    from seriesdata.jobs.runner import Runner, RunOptions, Tally
    from seriesdata.jobs.work import Outcome
    from seriesdata.providers.base import EpisodeRecord
    from seriesdata.storage import catalogue
    from seriesdata.storage.db import close_database, open_database

    db = scratch_copy(scale_database(100_000), "writer.db")
    open_database(db)
    try:
        job = IMPORT_MISSING["episodes"]
        runner = Runner(job, RunOptions(limit=0, workers=1), db, "tvdb", provider_factory=lambda stop: None)
        runner._run_id = runner._insert_run({"limit": 0})
        now = datetime(2030, 1, 1)
        items = [item for chunk in catalogue.missing_items(catalogue.EPISODES, now, False) for item in chunk]
        outcomes = [
            Outcome(item, record(EpisodeRecord, item), seconds=0.05, coalesced=index % 2 == 0)
            for index, item in enumerate(items[:ITEMS])
        ]
        rows = []
        for batch in (1, 100):
            share, outcomes = outcomes[: ITEMS // 2], outcomes[ITEMS // 2 :]
            tally = Tally()
            costs = []
            for start in range(0, len(share), batch):
                started = time.perf_counter()
                runner._write_batch(share[start : start + batch], tally)
                costs += [(time.perf_counter() - started) / batch] * batch
            assert tally.imported == len(share)
            mean = statistics.fmean(costs) * 1000
            p99 = sorted(costs)[int(len(costs) * 0.99)] * 1000
            rows.append(
                Row(
                    "writer cost per item",
                    f"{len(share)} episodes, {batch} per transaction, 100k-episode db",
                    f"mean {mean:.3f} ms, p99 {p99:.3f} ms",
                    f"< {TARGET_MS:g} ms",
                    mean < TARGET_MS,
                )
            )
    finally:
        close_database()
    return rows


def record(cls, item):
    episode = item.episode
    name = f"Episode {episode.tvdb_id}"
    return cls(
        tvdb_id=episode.tvdb_id,
        season_number=episode.season_number,
        number=episode.number,
        name=name,
        overview=f"What happens in {name}. " * 8,
        aired="2010-05-02",
        runtime=45,
        image_url=f"https://artworks.thetvdb.com/banners/episodes/{episode.tvdb_id}.jpg",
        translations={"eng": {"name": name, "overview": f"What happens in {name}."}},
    )
