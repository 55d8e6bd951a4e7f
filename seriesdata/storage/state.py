"""Small per-provider values kept in the database (`provider_state`): the TheTVDB token, feed watermarks.

Callers may be worker threads, so each call opens its own short connection instead of borrowing the
writer's; these calls are rare (once per run, or once per refused token).
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path


class ProviderStateStore:
    def __init__(self, db_path: Path, provider: str, busy_timeout: float = 15.0) -> None:
        self.db_path = db_path
        self.provider = provider
        self.busy_timeout = busy_timeout

    def get(self, key: str) -> str | None:
        with closing(self._connect()) as conn:
            row = conn.execute(
                "SELECT value FROM provider_state WHERE provider = ? AND key = ?",
                (self.provider, key),
            ).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str | None) -> None:
        with closing(self._connect()) as conn, conn:  # closed, after committing (or rolling back)
            if value is None:
                conn.execute(
                    "DELETE FROM provider_state WHERE provider = ? AND key = ?",
                    (self.provider, key),
                )
            else:
                conn.execute(
                    "INSERT INTO provider_state (provider, key, value) VALUES (?, ?, ?)"
                    " ON CONFLICT (provider, key) DO UPDATE SET value = excluded.value",
                    (self.provider, key, value),
                )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path, timeout=self.busy_timeout)


class StoredToken:
    """A TokenStore for TvdbProvider backed by `provider_state` (keys `token` and `token_for`).

    The token is only handed back to the credentials it was issued for: `token_for` holds a short hash
    of the key and PIN (never the key itself), so changing the key makes the next run log in with it
    instead of quietly going on with the old key's token.
    """

    def __init__(self, store: ProviderStateStore, credentials: str = "") -> None:
        self.store = store
        self.fingerprint = hashlib.sha256(f"seriesdata-token\0{credentials}".encode()).hexdigest()[:16]

    def load(self) -> str | None:
        if self.store.get("token_for") != self.fingerprint:
            return None
        return self.store.get("token")

    def save(self, token: str | None) -> None:
        self.store.set("token_for", self.fingerprint if token else None)
        self.store.set("token", token)
