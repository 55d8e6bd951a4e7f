"""Settings: option > environment > config file (TOML) > default, remembering where each value came from."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from seriesdata.errors import ConfigError
from seriesdata.ratelimit import Limit

APP_NAME = "seriesdata"
PROVIDERS = ("auto", "tvdb", "tvmaze")
SECRET_FIELDS = frozenset({"tvdb_api_key", "tvdb_pin"})
DEFAULT_WORKERS = 4


def default_db() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "seriesdata.db"


def default_config_file() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


@dataclass
class Settings:
    db: Path = field(default_factory=default_db)
    provider: str = "auto"
    tvdb_api_key: str | None = None
    tvdb_pin: str | None = None
    tvdb_url: str = "https://api4.thetvdb.com/v4"
    tvmaze_url: str = "https://api.tvmaze.com"
    languages: tuple[str, ...] = ("eng",)
    workers: int = DEFAULT_WORKERS
    tvmaze_rate_limit: Limit = field(default_factory=lambda: Limit(20, 10))
    tvdb_rate_limit: Limit = field(default_factory=lambda: Limit(100, 10))
    timeout: float = 30.0  # seconds per HTTP request
    retries: int = 4  # tries per HTTP request, the first included
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    busy_timeout: float = 15.0  # seconds to wait for another writer's lock on the database
    sources: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None  # the file that was looked for (it may not exist)

    @property
    def resolved_provider(self) -> str:
        if self.provider != "auto":
            return self.provider
        return "tvdb" if self.tvdb_api_key else "tvmaze"

    @property
    def provider_url(self) -> str:
        """The base URL of the provider in use."""
        return self.tvdb_url if self.resolved_provider == "tvdb" else self.tvmaze_url

    def secrets(self) -> list[str]:
        return [value for value in (self.tvdb_api_key, self.tvdb_pin) if value]

    def names(self) -> list[str]:
        return [item.name for item in fields(self) if item.name not in ("sources", "config_file")]

    def text(self, name: str) -> str:
        """A setting as it would be written in the environment (secrets included: never print this)."""
        value = getattr(self, name)
        if isinstance(value, tuple):
            return ",".join(value)
        return "" if value is None else str(value)

    def shown(self) -> list[tuple[str, str, str]]:
        """(name, value, source) for `config show`, secrets redacted."""
        rows = []
        for name in self.names():
            if name in SECRET_FIELDS:
                text = "(set, hidden)" if getattr(self, name) else "(not set)"
            else:
                text = self.text(name)
            rows.append((name, text, self.sources.get(name, "default")))
        return rows


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < math.inf:  # also refuses nan and inf
        raise ValueError
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not 0 <= value < math.inf:
        raise ValueError
    return value


def _provider(text: str) -> str:
    if text not in PROVIDERS:
        raise ValueError
    return text


def _languages(text: str) -> tuple[str, ...]:
    codes = tuple(code.strip().lower() for code in text.split(",") if code.strip())
    if not codes or not all(len(code) == 3 and code.isalpha() for code in codes):
        raise ValueError
    return codes


def _text(text: str) -> str:
    return text


PARSERS: dict[str, Callable[[str], Any]] = {
    "db": lambda text: Path(text).expanduser(),
    "provider": _provider,
    "tvdb_api_key": _text,
    "tvdb_pin": _text,
    "tvdb_url": _text,
    "tvmaze_url": _text,
    "languages": _languages,
    "workers": _positive_int,
    "tvmaze_rate_limit": Limit.parse,
    "tvdb_rate_limit": Limit.parse,
    "timeout": _positive_float,
    "retries": _positive_int,
    "backoff": _non_negative_float,
    "busy_timeout": _positive_float,
}
EXPECTED = {
    "provider": "auto, tvdb or tvmaze",
    "languages": "a comma list of 3-letter codes like eng,deu",
    "workers": "a whole number of at least 1",
    "timeout": "a number of seconds above 0",
    "retries": "a whole number of at least 1",
    "busy_timeout": "a number of seconds above 0",
    "backoff": "a number of seconds, 0 or more",
    "tvmaze_rate_limit": "COUNT/SECONDS like 20/10, or 0 for no limit",
    "tvdb_rate_limit": "COUNT/SECONDS like 100/10, or 0 for no limit",
}


def env_name(key: str) -> str:
    return f"SERIESDATA_{key.upper()}"


def load_settings(
    options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build the settings; `options` holds only what was given on the command line."""
    env = os.environ if env is None else env
    settings = Settings()
    explicit = config_file is not None or bool(env.get("SERIESDATA_CONFIG"))
    path = config_file or Path(env.get("SERIESDATA_CONFIG") or default_config_file())
    settings.config_file = path
    layers: list[tuple[str, Mapping[str, Any]]] = [
        (f"config file {path}", _read_config(path, required=explicit)),
        ("environment", {k: env[env_name(k)] for k in PARSERS if env.get(env_name(k))}),
        ("option", {k: v for k, v in (options or {}).items() if v is not None}),
    ]
    for source, values in layers:
        for key, raw in values.items():
            where = f"environment variable {env_name(key)}" if source == "environment" else source
            setattr(settings, key, _parse(key, raw, where))
            settings.sources[key] = env_name(key) if source == "environment" else source
    return settings


def _parse(key: str, raw: Any, source: str) -> Any:
    if isinstance(raw, list) and key == "languages":
        raw = ",".join(str(item) for item in raw)
    if isinstance(raw, Path):
        raw = str(raw)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ConfigError(f"invalid {key} in {source}: expected {EXPECTED.get(key, 'a value')}")
    try:
        return PARSERS[key](str(raw))
    except ConfigError as error:
        raise ConfigError(f"{error} (from {source})") from None
    except ValueError:
        shown = "(hidden)" if key in SECRET_FIELDS else repr(raw)
        raise ConfigError(
            f"invalid {key} {shown} in {source}: expected {EXPECTED.get(key, 'a valid value')}"
        ) from None


def _read_config(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        exists = path.exists()
    except OSError as error:  # e.g. an unreadable config directory
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    if not exists:
        if required:
            raise ConfigError(f"config file {path} does not exist")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    unknown = sorted(set(data) - set(PARSERS))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting {unknown[0]!r} (known: {', '.join(PARSERS)})")
    return data
