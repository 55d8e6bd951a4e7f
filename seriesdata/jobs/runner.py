"""One run of a job, SPEC §2 steps 1–6: lock, select, fetch under a pool, write, record, report.

Worker threads only fetch (`work.fetch`); this module's thread is the one writer, storing each item in
its own transaction as it arrives. Failures are sorted by class:
  ItemError / NotFound   the item's fault: charged at once, it backs off.
  ProviderUnavailable    maybe an outage: charged only if the run was not aborted as one.
  AuthError              nobody's item: the run aborts, nothing is charged.
  DatabaseError          nobody's item either (a worker's own connection failed): the same.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from seriesdata.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    AuthError,
    Interrupted,
    ItemError,
    LockHeld,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from seriesdata.jobs.definitions import JobDef, Notes
from seriesdata.jobs.lock import JobLock
from seriesdata.jobs.work import Outcome, Planner, Unit, failure, fetch
from seriesdata.providers.base import EpisodeRecord, Provider, SeriesRecord
from seriesdata.storage import catalogue, updates
from seriesdata.storage.catalogue import Item
from seriesdata.storage.models import db, precise_now, utcnow

OUTAGE_THRESHOLD = 3  # consecutive items failing with ProviderUnavailable abort the run
DRY_RUN_ITEMS_SHOWN = 1000
FAILURES_SHOWN = 3


class ProgressSink(Protocol):
    def start(self, total: int, description: str) -> None: ...
    def advance(self, imported: bool) -> None: ...
    def stop(self) -> None: ...


class NoProgress:
    def start(self, total: int, description: str) -> None:
        pass

    def advance(self, imported: bool) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass
class RunOptions:
    limit: int
    workers: int
    dry_run: bool = False
    retry_failed: bool = False
    include_specials: bool = False
    wait: float | None = None


@dataclass
class RunResult:
    job: str
    status: str  # success | partial | failed | skipped
    message: str
    context: dict[str, Any]
    duration_seconds: float = 0.0
    job_log_id: int | None = None
    interrupted: bool = False
    dry_run: bool = False
    items: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # "label: reason" of the first few failed items

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.status == "skipped":
            return EXIT_LOCKED
        return EXIT_OK if self.status == "success" or self.dry_run else EXIT_FAILED

    def as_json(self) -> dict[str, Any]:
        if self.dry_run:
            return {"dry_run": True, "job": self.job, **self.context, "items": self.items}
        return {
            **self.context,
            "job": self.job,
            "status": self.status,
            "duration_seconds": round(self.duration_seconds, 3),
            "job_log_id": self.job_log_id,
        }


@dataclass
class Tally:
    processed: int = 0
    imported: int = 0
    failed: int = 0
    not_found: int = 0
    removed: int = 0  # refresh jobs: gone upstream (404), marked and kept
    coalesced: int = 0
    consecutive_outages: int = 0
    transient: list[tuple[Item, ProviderUnavailable]] = field(default_factory=list)
    abort_reason: str | None = None
    outage: bool = False
    examples: list[str] = field(default_factory=list)  # the first few failures, for the summary


class Runner:
    def __init__(
        self,
        job: JobDef,
        options: RunOptions,
        db_path: Path,
        provider_name: str,
        provider_factory: Callable[[threading.Event], Provider],
        progress: ProgressSink | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.job = job
        self.options = options
        self.db_path = db_path
        self.provider_name = provider_name
        self.provider_factory = provider_factory
        self.progress = progress or NoProgress()
        self.clock = clock
        self.stop = threading.Event()
        self.signal_reason: str | None = None
        self._provider: Provider | None = None
        self._run_id: int | None = None

    # --- public --------------------------------------------------------------------------------

    def runs(
        self, until_done: bool = False, delay: float = 0.0, max_duration: float | None = None
    ) -> Iterator[RunResult]:
        """One run, or (`until_done`) runs until nothing remains, time is up, or a run fails."""
        if self.options.dry_run:
            yield self.dry_run()
            return
        lock = JobLock(self.db_path, self.job.job_class)
        try:
            lock.acquire(self.options.wait, self.stop)
        except LockHeld as held:
            yield self._skipped(str(held))
            return
        started = time.monotonic()
        try:
            while True:
                result = self.run_once()
                yield result
                out_of_time = max_duration is not None and time.monotonic() - started >= max_duration
                done = (
                    not until_done
                    or result.status in ("failed", "skipped")
                    or result.interrupted
                    or result.context["remaining"] == 0
                    or result.context["imported"] == 0
                    or out_of_time
                )
                if done or self.stop.wait(delay):
                    return
        finally:
            lock.release()
            self.close()

    def interrupt(self, reason: str) -> None:
        """Called from a signal handler: stop taking items, finish what is written."""
        self.signal_reason = reason
        self.stop.set()

    def close(self) -> None:
        if self._provider is not None:
            from seriesdata.providers import close_provider

            close_provider(self._provider)
            self._provider = None

    # --- dry run -------------------------------------------------------------------------------

    def dry_run(self) -> RunResult:
        now = self.clock()
        try:
            record = self._prepare(now)
            if record is None:
                return self._dry_select(now, Notes())
            with db.atomic() as transaction:  # what the preparation records is rolled back
                result = self._dry_select(now, record())
                transaction.rollback()
            return result
        finally:
            self.close()

    def _dry_select(self, now: datetime, notes: Notes) -> RunResult:
        remaining, deferred = self.job.counts(now)
        selected = self._planned(remaining, deferred)
        items: list[dict[str, Any]] = []
        if selected <= DRY_RUN_ITEMS_SHOWN:
            for chunk in self.job.select(now, self.options.retry_failed):
                items.extend(describe(self.job, item) for item in chunk)
                if len(items) >= selected:
                    break
            items = items[:selected]
        if self.job.summarize is not None:
            notes = notes.add(self.job.summarize(now))
        context = {
            "selected": selected,
            "remaining": remaining,
            "deferred": deferred,
            "limit": self.options.limit,
            "provider": self.provider_name,
            **notes.context,
        }
        tail = ", ".join([f"{remaining} remaining", *notes.counts])
        message = f"Would {self.job.verb.removesuffix('ed')} {selected} {self.job.entity.noun} ({tail})"
        if notes.remarks:
            message += " — " + "; ".join(notes.remarks)
        return RunResult(self.job.job_class, "success", message, context, dry_run=True, items=items)

    def _planned(self, remaining: int, deferred: int) -> int:
        """How many items a run takes: what it may select, up to --limit (0 = all)."""
        selectable = remaining + (deferred if self.options.retry_failed else 0)
        return min(self.options.limit, selectable) if self.options.limit else selectable

    def _prepare(self, now: datetime) -> Callable[[], Notes] | None:
        """The job's step before selection (check-updates reads the change feed), if it has one."""
        if self.job.prepare is None:
            return None
        return self.job.prepare(self._get_provider(), now)

    # --- one run -------------------------------------------------------------------------------

    def run_once(self) -> RunResult:
        began = time.monotonic()
        now = self.clock()
        self._close_stale_runs()
        requests_before = self._provider.requests if self._provider else 0
        notes = Notes()
        record = self._prepare(now)
        if record is not None:
            with db.atomic():
                notes = record()
        planned = self._planned(*self.job.counts(now))
        base_context = {
            "limit": self.options.limit,
            "workers": self.options.workers,
            "provider": self.provider_name,
        }
        run_id = self._run_id = self._insert_run(base_context)
        tally = Tally()
        self.progress.start(planned, f"{self.job.item_class} {self.job.entity.noun}")
        try:
            if planned:
                self._process(now, planned, tally)
        finally:
            self.progress.stop()
        if tally.transient and not tally.imported and len(tally.transient) == tally.failed:
            # Too few items to reach the threshold, but every one met an outage: nothing shows the
            # provider was reachable, so it is an outage too (never charged).
            tally.outage = True
            tally.abort_reason = tally.abort_reason or outage_reason(tally.transient[-1][1])
        if not tally.outage:
            self._charge_transient(tally)
        remaining, deferred = self.job.counts(self.clock())
        if self.job.summarize is not None:
            notes = notes.add(self.job.summarize(self.clock()))
        requests = (self._provider.requests if self._provider else 0) - requests_before
        interrupted = self.signal_reason is not None
        reason = f"interrupted by {self.signal_reason}" if interrupted else tally.abort_reason
        status = run_status(tally, reason)
        context = {
            "processed": tally.processed,
            "imported": tally.imported,
            "failed": tally.failed,
            "remaining": remaining,
            "deferred": deferred,
            **base_context,
            "api_requests": requests,
            "not_found": tally.not_found,
            "coalesced": tally.coalesced,
            **notes.context,
        }
        if self.job.refresh:
            context["removed_upstream"] = context.get("removed_upstream", 0) + tally.removed
        if reason:
            context["reason"] = reason
        message = self._message(tally, remaining, deferred, reason, notes)
        duration = time.monotonic() - began
        self._finish_run(run_id, status, message, context, duration, reason)
        return RunResult(
            self.job.job_class, status, message, context, duration, run_id, interrupted=interrupted,
            failures=tally.examples,
        )  # fmt: skip

    def _process(self, now: datetime, planned: int, tally: Tally) -> None:
        try:
            provider = self._get_provider()
            prepare = getattr(provider, "prepare", None)
            if prepare is not None:
                prepare()
        except Interrupted:
            return
        except (ProviderError, sqlite3.Error) as error:  # before any item: nothing to charge
            tally.abort_reason = f"aborted: {failure(error)}"
            return
        units = self._units(provider, now, planned)
        workers = max(1, self.options.workers)
        with ThreadPoolExecutor(workers, thread_name_prefix="fetch") as pool:
            pending: set[Future[list[Outcome]]] = set()
            while True:
                while not self.stop.is_set() and len(pending) < workers * 2:
                    unit = next(units, None)
                    if unit is None:
                        break
                    pending.add(pool.submit(fetch, provider, unit))
                if not pending:
                    return
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                self._write_batch([outcome for future in done for outcome in future.result()], tally)

    def _write_batch(self, outcomes: list[Outcome], tally: Tally) -> None:
        """Store what arrived together in one transaction, each item in its own savepoint.

        A commit costs more than writing an item (it appends to the WAL), and a coalesced unit
        brings up to a chunk of items at once; an item is still written whole or not at all.
        """
        with db.atomic():
            for outcome in outcomes:
                self._write(outcome, tally)
                if tally.abort_reason and not self.stop.is_set():
                    self.stop.set()

    def _units(self, provider: Provider, now: datetime, planned: int) -> Iterator[Unit]:
        taken = 0
        seen: set[int] = set()
        kind: Literal["series", "episodes"] = "series" if self.job.entity is catalogue.SERIES else "episodes"
        for chunk in self.job.select(now, self.options.retry_failed):
            fresh = [item for item in chunk if item.id not in seen][: planned - taken]
            seen.update(item.id for item in fresh)
            taken += len(fresh)
            sizes: dict[int, int] = {}
            if kind == "episodes":
                sizes = catalogue.episode_counts(sorted({item.series_id for item in fresh}))
            yield from Planner(provider, sizes).units(kind, fresh)
            if taken >= planned:
                return

    # --- the writer ------------------------------------------------------------------------------

    def _write(self, outcome: Outcome, tally: Tally) -> None:
        if outcome.interrupted:
            return
        now = self.clock()
        item, error = outcome.item, outcome.error
        tally.processed += 1
        removed = self.job.refresh and isinstance(error, NotFound)
        charged = isinstance(error, ItemError) and not removed
        log: tuple[str, str, str | None]  # status, message, exception
        with db.atomic():
            if error is None:
                self._save(item, outcome.record)
                log = ("success", f"{self.job.verb.capitalize()} {item.label}", None)
            elif removed:
                updates.mark_removed(self.job.entity, item, str(error), now)
                log = ("failed", f"Removed upstream: {item.label} ({error}); its data is kept", str(error))
            else:
                catalogue.record_failure(
                    self.job.entity, item, str(error), now,
                    charge=charged, not_found=isinstance(error, NotFound),
                )  # fmt: skip
                log = ("failed", f"Failed {item.label}: {error}", str(error))
            status, message, exception = log
            self._insert_item_log(item, outcome, status, message, exception, charged)
        self.progress.advance(error is None)
        if error is None or removed:
            tally.imported += error is None
            tally.removed += removed
            tally.coalesced += outcome.coalesced
            tally.consecutive_outages = 0
            return
        tally.failed += 1
        if len(tally.examples) < FAILURES_SHOWN:
            tally.examples.append(f"{item.label}: {error}")
        if isinstance(error, AuthError) or not isinstance(error, ProviderError):
            tally.abort_reason = f"aborted: {error}"
        elif isinstance(error, ProviderUnavailable):
            tally.transient.append((item, error))
            tally.consecutive_outages += 1
            if tally.consecutive_outages >= OUTAGE_THRESHOLD:
                tally.abort_reason = outage_reason(error)
                tally.outage = True
        else:
            tally.consecutive_outages = 0
            tally.not_found += isinstance(error, NotFound)

    def _save(self, item: Item, record: SeriesRecord | EpisodeRecord | None) -> None:
        now = self.clock()
        if isinstance(record, SeriesRecord):
            catalogue.save_series(item, record, now, self.options.include_specials)
        elif isinstance(record, EpisodeRecord):
            catalogue.save_episode(item, record, now)

    def _charge_transient(self, tally: Tally) -> None:
        """Outages are never charged; transient failures in a run that was otherwise fine are."""
        now = self.clock()
        for item, error in tally.transient:
            with db.atomic():
                catalogue.record_failure(self.job.entity, item, str(error), now, charge=True, not_found=False)

    # --- job_logs --------------------------------------------------------------------------------

    def _insert_run(self, context: dict[str, Any]) -> int:
        with db.atomic():
            cursor = db.execute_sql(
                "INSERT INTO job_logs (job_class, status, message, context, created_at, pid)"
                " VALUES (?, 'started', ?, ?, ?, ?)",
                (
                    self.job.job_class,
                    f"{self.job.item_class} run started",
                    json.dumps(context),
                    precise_now(),
                    os.getpid(),
                ),
            )
        return int(cursor.lastrowid)

    def _finish_run(
        self,
        run_id: int,
        status: str,
        message: str,
        context: dict[str, Any],
        duration: float,
        reason: str | None,
    ) -> None:
        with db.atomic():
            db.execute_sql(
                "UPDATE job_logs SET status = ?, message = ?, context = ?, exception = ?,"
                " finished_at = ?, duration_seconds = ? WHERE id = ?",
                (
                    status,
                    message,
                    json.dumps(context),
                    reason,
                    precise_now(),
                    round(duration, 3),
                    run_id,
                ),
            )

    def _insert_item_log(
        self, item: Item, outcome: Outcome, status: str, message: str, exception: str | None, charged: bool
    ) -> None:
        context: dict[str, Any] = {
            "tvdb_id": item.series.tvdb_id if item.episode is None else item.episode.tvdb_id,
            "attempt": item.attempts + 1,
        }
        if item.episode is not None:
            context["series_tvdb_id"] = item.series.tvdb_id
        if outcome.coalesced:
            context["coalesced"] = True
        if outcome.error is not None:
            context["error_type"] = type(outcome.error).__name__
            context["charged"] = charged
        stamp = precise_now()
        db.execute_sql(
            "INSERT INTO job_logs (job_class, status, message, context, exception, loggable_type,"
            " loggable_id, created_at, finished_at, duration_seconds, run_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.job.item_class, status, message, json.dumps(context), exception,
                self.job.entity.loggable_type, item.id, stamp, stamp,
                round(outcome.seconds, 3), self._run_id,
            ),
        )  # fmt: skip

    def _close_stale_runs(self) -> None:
        """We hold the job's lock, so any `started` row of this job belongs to a dead process."""
        with db.atomic():
            db.execute_sql(
                "UPDATE job_logs SET status = 'failed',"
                " message = coalesce(message, '') || ' — interrupted: the process ended mid-run',"
                " exception = 'interrupted: the process ended before finishing the run',"
                " finished_at = coalesce(finished_at, ?)"
                " WHERE job_class = ? AND status = 'started' AND run_id IS NULL",
                (precise_now(), self.job.job_class),
            )

    def _skipped(self, reason: str) -> RunResult:
        context = {
            "processed": 0, "imported": 0, "failed": 0, "remaining": None, "deferred": None,
            "limit": self.options.limit, "workers": self.options.workers,
            "provider": self.provider_name, "api_requests": 0, "reason": reason,
        }  # fmt: skip
        message = f"{self.job.job_class} skipped: {reason}"
        now = precise_now()
        with db.atomic():
            cursor = db.execute_sql(
                "INSERT INTO job_logs (job_class, status, message, context, created_at, finished_at,"
                " duration_seconds, pid) VALUES (?, 'skipped', ?, ?, ?, ?, 0, ?)",
                (self.job.job_class, message, json.dumps(context), now, now, os.getpid()),
            )
        return RunResult(self.job.job_class, "skipped", message, context, 0.0, cursor.lastrowid)

    def _message(self, tally: Tally, remaining: int, deferred: int, reason: str | None, notes: Notes) -> str:
        noun, verb = self.job.entity.noun, self.job.verb
        counts = [f"{remaining} remaining", *([f"{deferred} deferred"] if deferred else []), *notes.counts]
        if tally.removed:
            counts.append(f"{tally.removed} gone upstream")
        done = f"{tally.imported} of {tally.processed} {noun} {verb}"
        text = f"{self.job.item_class} for {done} ({', '.join(counts)})"
        remarks = [*notes.remarks, *([reason] if reason else [])]
        return f"{text} — {'; '.join(remarks)}" if remarks else text

    def _get_provider(self) -> Provider:
        if self._provider is None:
            self._provider = self.provider_factory(self.stop)
        return self._provider


def outage_reason(error: ProviderUnavailable) -> str:
    kind = "rate limited" if isinstance(error, RateLimited) else "provider unreachable"
    return f"aborted: {kind} ({error})"


def run_status(tally: Tally, reason: str | None) -> str:
    if reason or (tally.processed and not tally.imported and not tally.removed):
        return "failed"
    return "partial" if tally.failed else "success"


def describe(job: JobDef, item: Item) -> dict[str, Any]:
    row: dict[str, Any] = {"id": item.id, "attempts": item.attempts}
    if item.episode is None:
        row["tvdb_id"] = item.series.tvdb_id
    else:
        row.update(
            tvdb_id=item.episode.tvdb_id,
            series_tvdb_id=item.series.tvdb_id,
            season_number=item.episode.season_number,
            number=item.episode.number,
        )
    return row
