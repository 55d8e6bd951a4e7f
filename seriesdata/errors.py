"""The exceptions seriesdata raises, each carrying a one-line user message and an exit code.

The CLI catches `SeriesdataError` in one place (`cli.app.main`), prints `str(error)` on stderr and exits
with `error.exit_code`. Messages must never contain secrets: build them from what we know, not from
response bodies that might echo a key back.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75
EXIT_INTERRUPTED = 130


class SeriesdataError(Exception):
    exit_code = EXIT_FAILED


class UsageError(SeriesdataError):
    """Bad usage or bad input: nothing was changed."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """An invalid configuration file, variable or option value."""


class DatabaseError(SeriesdataError):
    """The database cannot be used: locked by another writer, read-only, or failing."""


class LockHeld(SeriesdataError):
    exit_code = EXIT_LOCKED


class Interrupted(SeriesdataError):
    exit_code = EXIT_INTERRUPTED


# --- provider errors -----------------------------------------------------------------------------
# The runner sorts item failures by these classes, never by message text:
#   ItemError (and NotFound)  -> the item's own fault: charged to the item, it backs off.
#   ProviderUnavailable       -> an outage: never charged; several in a row abort the run.
#   AuthError                 -> the credentials are refused: the run aborts before charging anything.


class ProviderError(SeriesdataError):
    """Base class of everything a provider raises."""


class AuthError(ProviderError):
    """The provider refused our credentials (or none are configured)."""


class ProviderUnavailable(ProviderError):
    """Timeouts, connection errors, 5xx or 429 that outlasted every retry."""


class FeedGap(ProviderError):
    """The change feed cannot reach back as far as asked (TheTVDB: about 90 days, TVmaze: a month)."""


class RateLimited(ProviderUnavailable):
    """429s that outlasted every retry, or a cool-down too long to wait out now."""


class ItemError(ProviderError):
    """This one item cannot be imported: a malformed or unexpected response, a 4xx other than 404."""


class NotFound(ItemError):
    """The provider does not know this item (HTTP 404)."""
