"""Build the configured provider. Jobs receive a `Provider` and never learn which API it talks to."""

from __future__ import annotations

import threading
from pathlib import Path

from seriesdata.config import Settings
from seriesdata.errors import ConfigError
from seriesdata.providers.base import Provider


def check_settings(settings: Settings) -> None:
    """Fail before anything is written when the chosen provider cannot work (exit 2)."""
    if settings.resolved_provider == "tvdb" and not settings.tvdb_api_key:
        raise ConfigError(
            "provider tvdb needs an API key: set SERIESDATA_TVDB_API_KEY (or tvdb_api_key in the "
            "config file), or use --provider tvmaze"
        )


def make_provider(
    settings: Settings,
    db_path: Path | None,
    stop: threading.Event | None = None,
    include_specials: bool = False,
    workers: int | None = None,
) -> Provider:
    """The provider for `settings.resolved_provider`, sharing one HTTP client and one rate limiter.

    `workers`: how many threads will send requests at once (default: `settings.workers`).
    """
    from seriesdata.providers.http import Api, RetryPolicy, make_client
    from seriesdata.ratelimit import RateLimiter
    from seriesdata.redact import Redactor

    name = settings.resolved_provider
    url = settings.provider_url
    limit = settings.tvdb_rate_limit if name == "tvdb" else settings.tvmaze_rate_limit
    api = Api(
        make_client(url, settings.timeout, connections=max(workers or settings.workers, 1)),
        RateLimiter(name, limit, db_path, busy_timeout=settings.busy_timeout),
        RetryPolicy(attempts=settings.retries, backoff=settings.backoff),
        stop=stop,
        redact=Redactor(settings.secrets()),
    )
    if name == "tvdb":
        from seriesdata.providers.tvdb import TokenStore, TvdbProvider
        from seriesdata.storage.state import ProviderStateStore, StoredToken

        credentials = f"{settings.tvdb_api_key or ''}\0{settings.tvdb_pin or ''}"
        store = ProviderStateStore(db_path, "tvdb", settings.busy_timeout) if db_path else None
        tokens = StoredToken(store, credentials) if store else TokenStore()
        return TvdbProvider(api, settings.tvdb_api_key, settings.tvdb_pin, settings.languages, tokens=tokens)
    from seriesdata.providers.tvmaze import TvmazeProvider

    return TvmazeProvider(api, include_specials=include_specials)


def close_provider(provider: Provider) -> None:
    api = getattr(provider, "api", None)
    if api is not None:
        api.client.close()
        api.limiter.close()
