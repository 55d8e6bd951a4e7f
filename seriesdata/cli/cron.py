"""`cron`: print crontab lines for the recommended schedule, with absolute paths."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from seriesdata.cli.state import JsonOption, QuietOption, VerboseOption, get_state
from seriesdata.config import SECRET_FIELDS, env_name


def cron(
    ctx: typer.Context,
    log: Annotated[Path | None, typer.Option("--log", help="Append each run's output to this file "
                   "instead of leaving it to cron's mail.", show_default=False)] = None,
    json_mode: JsonOption = False, quiet: QuietOption = False, verbose: VerboseOption = False,
) -> None:  # fmt: skip
    """Print ready-to-paste crontab lines: daily imports (series 02:00, episodes 03:00), weekly updates.

    Paths are absolute (cron has its own working directory and PATH); settings your shell's environment
    provides are written out, secrets only as a hint. With --json: {"lines": [...]}.

    Example: seriesdata --db ~/tv.db cron --log ~/seriesdata.log
    """
    from seriesdata.schedule import CronSetup, crontab

    state = get_state(ctx)
    output = state.merge(json_mode, quiet, verbose)
    settings = state.settings()
    config_file = settings.config_file
    env = {
        env_name(name): settings.text(name)
        for name, source in settings.sources.items()
        if name != "db" and name not in SECRET_FIELDS and not source.startswith("config file")
    }
    secrets = [
        env_name(name)
        for name in sorted(SECRET_FIELDS)
        if not settings.sources.get(name, "config file").startswith("config file")
    ]
    setup = CronSetup(
        executable=executable(),
        db=Path(settings.db).expanduser().absolute(),
        config=config_file.expanduser().absolute() if config_file and config_file.exists() else None,
        env=env,
        secret_env=secrets,
        tvdb_key_configured=bool(settings.tvdb_api_key),
        log=log.expanduser().absolute() if log else None,
    )
    for path, what in ((setup.db, "the database"), (setup.log, "the log file")):
        if path is not None and not path.parent.is_dir():  # every cron run would fail at 2 a.m.
            output.warn(f"{path.parent} does not exist, so cron cannot create {what} there: "
                        f"create it first (mkdir -p {path.parent})")  # fmt: skip
    lines = crontab(setup)
    if output.json_mode:
        output.json({"lines": lines})
    elif not output.quiet:
        sys.stdout.write("\n".join(lines) + "\n")


def executable() -> list[str]:
    """How cron should start this same seriesdata: the script we were started as, absolute."""
    argv0 = Path(sys.argv[0])
    if argv0.stem == "seriesdata":
        found = shutil.which(str(argv0)) if argv0.parent == Path() else str(argv0)
        if found:
            return [str(Path(found).absolute())]
    if argv0.name == "__main__.py":  # python -m seriesdata
        return [str(Path(sys.executable).absolute()), "-m", "seriesdata"]
    found = shutil.which("seriesdata")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "seriesdata"]
