"""One lock per job and database file, held with flock so the OS releases it when the process dies.

There is no stale lock to expire (unlike the original's 24-hour cache lock): a killed run frees its lock
at once, and the next run can tell its `started` row was left behind by a dead process.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from filelock import FileLock, Timeout

from seriesdata.errors import DatabaseError, Interrupted, LockHeld

POLL_SECONDS = 0.1


def lock_path(db_path: Path, job_class: str) -> Path:
    slug = re.sub(r"(?<!^)(?=[A-Z])", "-", job_class).lower()
    return db_path.with_name(f"{db_path.name}.{slug}.lock")


class JobLock:
    def __init__(self, db_path: Path, job_class: str) -> None:
        self.path = lock_path(db_path, job_class)
        self._lock = FileLock(self.path, thread_local=False)

    def acquire(self, wait: float | None = None, stop: threading.Event | None = None) -> None:
        """Take the lock now, or within `wait` seconds; raise LockHeld if another run keeps it.

        Polls itself rather than letting filelock sleep, so a Ctrl-C or SIGTERM (`stop`) ends the wait.
        """
        stop = stop or threading.Event()
        deadline = time.monotonic() + (wait or 0)
        while True:
            try:
                self._lock.acquire(timeout=0)
                return
            except Timeout:
                pass
            except OSError as error:
                raise DatabaseError(f"cannot create lock file {self.path}: {error.strerror}") from None
            left = deadline - time.monotonic()
            if left <= 0:
                waited = f" (waited {wait:g} s)" if wait else ""
                raise LockHeld(f"another run holds the lock {self.path.name}{waited}")
            if stop.wait(min(POLL_SECONDS, left)):
                raise Interrupted("interrupted while waiting for another run to release its lock")

    def is_held_elsewhere(self) -> bool:
        """True while another process runs this job (used to tell running from interrupted)."""
        if self._lock.is_locked:
            return False
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return True
        except OSError:
            return False
        self._lock.release()
        return False

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    def __enter__(self) -> JobLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
