"""The recommended schedule of the original design, written out as crontab lines.

Original (Laravel scheduler): import missing series and episodes daily (02:00 and 03:00, so the episode
run finds the episode rows the series run recorded), and refresh series weekly with
`check-updates --hours=168`. cron runs with an almost empty environment and its own working directory,
so every path is absolute and every setting the user's shell provides is written out.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# (minute hour day-of-month month day-of-week, arguments, why)
SCHEDULE = (
    ("0 2 * * *", ["import-missing", "series"], "daily: import series added since yesterday"),
    (
        "0 3 * * *",
        ["import-missing", "episodes", "--until-done", "--max-duration", "3000"],
        "daily: episodes, 100 per batch until none remain (no new batch after 50 minutes)",
    ),
    ("0 4 * * 0", ["check-updates", "series", "--hours", "168"], "weekly (Sunday): refresh series data"),
    ("30 4 1 * *", ["logs", "prune", "--older-than", "90"], "monthly: drop job_logs rows older than 90 days"),
)


@dataclass
class CronSetup:
    executable: Sequence[str]  # e.g. ["/home/me/.venv/bin/seriesdata"] or [python, "-m", "seriesdata"]
    db: Path
    config: Path | None = None  # passed with --config when the settings come from a config file
    env: Mapping[str, str] | None = None  # settings the shell's environment provides (no secrets)
    secret_env: Sequence[str] = ()  # names of secrets set in the environment (values never printed)
    tvdb_key_configured: bool = False
    log: Path | None = None  # append stdout and stderr here instead of cron's mail


def cron_escape(text: str) -> str:
    """cron turns an unescaped % into a newline."""
    return text.replace("%", r"\%")


def command(setup: CronSetup, args: Sequence[str]) -> str:
    words = [*setup.executable, "--db", str(setup.db)]
    if setup.config is not None:
        words += ["--config", str(setup.config)]
    words += ["--quiet", *args]
    line = shlex.join(words)
    if setup.log is not None:
        line += f" >> {shlex.quote(str(setup.log))} 2>&1"
    return cron_escape(line)


def crontab(setup: CronSetup) -> list[str]:
    """Ready-to-paste crontab lines (comments explain each choice)."""
    lines = ["# seriesdata: the recommended schedule. Install with `crontab -e` and paste these lines."]
    if setup.log is None:
        lines += [
            "# --quiet prints nothing on success, so cron mails you only failures. Set MAILTO to get them:",
            "# MAILTO=you@example.com",
        ]
    else:
        lines.append(f"# Output of every run is appended to {setup.log} (--quiet: only failures).")
    for name, value in sorted((setup.env or {}).items()):
        lines.append(cron_escape(f"{name}={value}"))
    for name in setup.secret_env:
        lines += [
            f"# {name} is set in your shell, but cron does not see it. Uncomment and fill in, or put it",
            "# in the config file (chmod 600) instead:",
            f"# {name}=...",
        ]
    if not setup.tvdb_key_configured:
        lines += [
            "# No TheTVDB key is configured, so these runs use TVmaze. To use TheTVDB, uncomment and fill in",
            "# (or set tvdb_api_key in the config file):",
            "# SERIESDATA_TVDB_API_KEY=...",
        ]
    for when, args, why in SCHEDULE:
        lines += [f"# {why}", f"{when} {command(setup, args)}"]
    return lines
