"""A sliding-window rate limit shared by all threads and all processes that use one database.

The recent request times of each provider live in the database (`api_requests`), so that a shell loop
calling seriesdata back to back, or two jobs running at once, never exceed the provider's limit. A 429
sets a cool-down (`provider_state`, key `cooldown_until`) that every later request, in this process or
the next, waits out first.

The limiter keeps its own sqlite3 connection: worker threads call it, and it must not borrow the writer
thread's connection. Each decision is one short IMMEDIATE transaction, so threads of one process and
other processes see each other's requests; a thread lock serialises this process's threads on the one
connection. Waiting happens outside both: workers that wake together simply decide one at a time.

Times are wall-clock seconds (`time.time`), the only clock that processes share. If it steps back, rows
from "the future" are moved to now, so a wait never exceeds one window; if it steps forward, old rows
look expired a little early. Both are rare and bounded by one window.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from seriesdata.errors import Interrupted, RateLimited

# A request counts from when it is sent, and once answered from when it was answered: the server saw it
# somewhere in between. The margin covers the requests still in flight when the next one is decided.
MARGIN_SECONDS = 0.5
# A cool-down longer than this (a 429 with a long Retry-After) fails requests at once instead of
# keeping the job (and its lock) asleep; the next run tries again. Api gives up on such a 429 too.
MAX_COOLDOWN_WAIT = 120.0
POLL_SECONDS = 5.0  # longest single sleep, so a long wait still notices a changed database


@dataclass(frozen=True, slots=True)
class Limit:
    count: int  # 0 = no limit
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`COUNT/SECONDS` (e.g. `20/10`), or `0` for no limit. Raises ValueError."""
        text = text.strip()
        if text == "0":
            return cls(0, 0.0)
        count, sep, seconds = text.partition("/")
        limit = cls(int(count), float(seconds))  # ValueError for "", "x", "1.5"
        if not sep or limit.count < 0 or not math.isfinite(limit.seconds) or limit.seconds <= 0:
            raise ValueError(text)
        return limit

    def __str__(self) -> str:
        return "0" if not self.count else f"{self.count}/{self.seconds:g}"


class RateLimiter:
    def __init__(
        self,
        provider: str,
        limit: Limit,
        db_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        margin: float = MARGIN_SECONDS,
        max_cooldown_wait: float = MAX_COOLDOWN_WAIT,
        busy_timeout: float = 15.0,  # seconds to wait for another writer's lock (Settings.busy_timeout)
    ) -> None:
        self.provider = provider
        self.limit = limit
        self.clock = clock
        self.window = limit.seconds + margin
        self.max_cooldown_wait = max_cooldown_wait
        self._lock = threading.Lock()
        self._memory: dict[int, float] = {}  # ticket -> time, without a database
        self._tickets = itertools.count(1)
        self._cooldown_until = 0.0
        self._db: sqlite3.Connection | None = None
        if db_path is not None:
            self._db = sqlite3.connect(
                db_path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            # WAL without an fsync per request: losing the last request times in a power cut is harmless.
            self._db.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def acquire(self, stop: threading.Event | None = None) -> int | None:
        """Block until one more request fits in the window (and any cool-down is over), then count it.

        Returns a ticket for `done`. Raises ProviderUnavailable at once when a cool-down has longer than
        `max_cooldown_wait` to go, and Interrupted when `stop` is set while waiting.
        """
        stop = stop or threading.Event()
        while True:
            wait, ticket = self._try(None)
            if wait <= 0:
                return ticket
            if stop.wait(min(wait, POLL_SECONDS)):
                raise Interrupted("interrupted while waiting for the rate limit")

    def try_acquire(self, now: float | None = None) -> float:
        """Count one request and return 0 if it fits now, else return the seconds to wait first."""
        return self._try(now)[0]

    def done(self, ticket: int | None) -> None:
        """The request was answered (or failed): from now on it counts from now, when the server has
        surely seen it, however long it took to get there."""
        if ticket is None:
            return
        with self._lock:
            now = self.clock()
            if self._db is not None:
                self._db.execute("UPDATE api_requests SET at = max(at, ?) WHERE rowid = ?", (now, ticket))
            elif ticket in self._memory:
                self._memory[ticket] = max(self._memory[ticket], now)

    def cool_down(self, seconds: float) -> None:
        """Send nothing for `seconds` (after a 429), here and in every other process."""
        with self._lock:
            until = self.clock() + max(seconds, 0.0)
            self._cooldown_until = max(self._cooldown_until, until)
            if self._db is not None:
                self._db.execute(
                    "INSERT INTO provider_state (provider, key, value) VALUES (?, 'cooldown_until', ?)"
                    " ON CONFLICT (provider, key) DO UPDATE SET value ="
                    " max(CAST(value AS REAL), CAST(excluded.value AS REAL))",
                    (self.provider, repr(until)),
                )

    # --- internals ------------------------------------------------------------------------------

    def _try(self, now: float | None) -> tuple[float, int | None]:
        """(0, ticket) when a slot was taken, else (seconds to wait, None)."""
        with self._lock:
            now = self.clock() if now is None else now
            cooling = self._read_cooldown() - now
            if cooling > 0:
                taken: tuple[float, int | None] = (cooling, None)
            elif not self.limit.count:
                taken = (0.0, None)
            elif self._db is not None:
                taken = self._take_in_db(now)
            else:
                taken = self._take_in_memory(now)
        if cooling > self.max_cooldown_wait:
            until = datetime.fromtimestamp(now + cooling).astimezone().strftime("%H:%M:%S")
            raise RateLimited(
                f"{self.provider} rate limited us (HTTP 429): cooling down until {until}, try again later"
            )
        return taken

    def _read_cooldown(self) -> float:
        if self._db is None:
            return self._cooldown_until
        row = self._db.execute(
            "SELECT value FROM provider_state WHERE provider = ? AND key = 'cooldown_until'",
            (self.provider,),
        ).fetchone()
        stored = float(row[0]) if row and row[0] else 0.0
        return max(stored, self._cooldown_until)

    def _take_in_db(self, now: float) -> tuple[float, int | None]:
        """Take a slot in one IMMEDIATE transaction. A cool-down that another process sets between the
        check in _try and this transaction only delays the requests after this one."""
        assert self._db is not None
        db, provider = self._db, self.provider
        db.execute("BEGIN IMMEDIATE")
        try:
            # The clock stepped back (or another process's runs ahead): such rows count from now.
            db.execute("UPDATE api_requests SET at = ? WHERE provider = ? AND at > ?", (now, provider, now))
            expired = now - self.window
            db.execute("DELETE FROM api_requests WHERE provider = ? AND at <= ?", (provider, expired))
            wait, ticket = self._window_wait(now), None
            if wait <= 0:
                cursor = db.execute("INSERT INTO api_requests (provider, at) VALUES (?, ?)", (provider, now))
                ticket = cursor.lastrowid
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return wait, ticket

    def _window_wait(self, now: float) -> float:
        """0 if a slot is free, else until enough rows leave the window for one (more than one when
        the limit was lowered since they were written)."""
        assert self._db is not None
        (count,) = self._db.execute(
            "SELECT count(*) FROM api_requests WHERE provider = ?", (self.provider,)
        ).fetchone()
        if count < self.limit.count:
            return 0.0
        (leaving,) = self._db.execute(
            "SELECT at FROM api_requests WHERE provider = ? ORDER BY at LIMIT 1 OFFSET ?",
            (self.provider, count - self.limit.count),
        ).fetchone()
        return leaving + self.window - now + 0.001

    def _take_in_memory(self, now: float) -> tuple[float, int | None]:
        times = self._memory
        for ticket, at in list(times.items()):
            if at > now:  # the clock stepped back
                times[ticket] = now
            elif at <= now - self.window:
                del times[ticket]
        if len(times) >= self.limit.count:
            leaving = sorted(times.values())[len(times) - self.limit.count]
            return leaving + self.window - now + 0.001, None
        ticket = next(self._tickets)
        times[ticket] = now
        return 0.0, ticket
