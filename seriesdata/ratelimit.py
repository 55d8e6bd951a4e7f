"""A sliding-window rate limit shared by all threads and all processes that use one database.

The recent request times of each provider live in the database (`api_requests`), so that a shell loop
calling seriesdata back to back, or two jobs running at once, never exceed the provider's limit. A 429
sets a cool-down (`provider_state`, key `cooldown_until`) that every later request, in this process or
the next, waits out first.

The limiter keeps its own sqlite3 connection: worker threads call it, and it must not borrow the writer
thread's connection. Each decision is one short IMMEDIATE transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seriesdata.errors import ConfigError, Interrupted

# The server counts a request when it arrives, we count it when we send it; a request that takes a
# little longer than the one before could make two requests look closer to the server than to us.
MARGIN_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Limit:
    count: int  # 0 = no limit
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`COUNT/SECONDS` (e.g. `20/10`), or `0` for no limit."""
        text = text.strip()
        if text == "0":
            return cls(0, 0.0)
        count, sep, seconds = text.partition("/")
        try:
            limit = cls(int(count), float(seconds))
        except ValueError:
            limit = None
        if not sep or limit is None or limit.count < 0 or limit.seconds <= 0:
            raise ConfigError(f"invalid rate limit {text!r}: expected COUNT/SECONDS like 20/10, or 0")
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
    ) -> None:
        self.provider = provider
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()
        self._memory: deque[float] = deque()
        self._cooldown_until = 0.0
        self._db: sqlite3.Connection | None = None
        if db_path is not None:
            self._db = sqlite3.connect(db_path, timeout=30, isolation_level=None, check_same_thread=False)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def acquire(self, stop: threading.Event | None = None) -> None:
        """Block until one more request fits in the window (and any cool-down is over), then count it."""
        stop = stop or threading.Event()
        while True:
            with self._lock:
                wait = self._try_take(self.clock())
            if wait <= 0:
                return
            if stop.wait(min(wait, 5.0)):
                raise Interrupted("interrupted while waiting for the rate limit")

    def cool_down(self, seconds: float) -> None:
        """Send nothing for `seconds` (after a 429), here and in every other process."""
        until = self.clock() + max(seconds, 0.0)
        with self._lock:
            self._cooldown_until = max(self._cooldown_until, until)
            if self._db is not None:
                self._db.execute(
                    "INSERT INTO provider_state (provider, key, value) VALUES (?, 'cooldown_until', ?)"
                    " ON CONFLICT (provider, key) DO UPDATE SET value ="
                    " max(CAST(value AS REAL), CAST(excluded.value AS REAL))",
                    (self.provider, repr(until)),
                )

    def cooldown_remaining(self) -> float:
        with self._lock:
            return max(0.0, self._read_cooldown() - self.clock())

    # --- internals (called with self._lock held) -------------------------------------------------

    def _read_cooldown(self) -> float:
        if self._db is None:
            return self._cooldown_until
        row = self._db.execute(
            "SELECT value FROM provider_state WHERE provider = ? AND key = 'cooldown_until'",
            (self.provider,),
        ).fetchone()
        stored = float(row[0]) if row else 0.0
        return max(stored, self._cooldown_until)

    def _try_take(self, now: float) -> float:
        """Take a slot and return 0, or return how long to wait before trying again."""
        if self._db is None:
            return self._take_in_memory(now)
        if not self.limit.count:
            return self._read_cooldown() - now
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            wait = self._read_cooldown() - now
            if wait <= 0:
                window = self.limit.seconds + MARGIN_SECONDS
                db.execute(
                    "DELETE FROM api_requests WHERE provider = ? AND at <= ?",
                    (self.provider, now - window),
                )
                count, oldest = db.execute(
                    "SELECT count(*), min(at) FROM api_requests WHERE provider = ?",
                    (self.provider,),
                ).fetchone()
                if count >= self.limit.count:
                    wait = oldest + window - now + 0.001
            if wait <= 0:
                db.execute("INSERT INTO api_requests (provider, at) VALUES (?, ?)", (self.provider, now))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return wait

    def _take_in_memory(self, now: float) -> float:
        wait = self._cooldown_until - now
        if wait > 0 or not self.limit.count:
            return wait
        window = self.limit.seconds + MARGIN_SECONDS
        while self._memory and self._memory[0] <= now - window:
            self._memory.popleft()
        if len(self._memory) >= self.limit.count:
            return self._memory[0] + window - now + 0.001
        self._memory.append(now)
        return 0.0
