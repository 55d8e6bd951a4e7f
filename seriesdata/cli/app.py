"""The root command: global options, the sub-apps, and the one error boundary."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from seriesdata import __version__
from seriesdata.cli.state import JsonOption, QuietOption, State, VerboseOption, get_state
from seriesdata.errors import EXIT_INTERRUPTED, EXIT_USAGE, SeriesdataError

# Click's usage errors (unknown command or option, bad option value). Typer exports only the subclass
# BadParameter; its base is the class every parsing error shares.
ClickUsageError: type[Exception] = typer.BadParameter.__mro__[1]


class SeriesdataGroup(TyperGroup):
    """Every command runs inside `invoke`: our errors become one stderr line and an exit code.

    Parsing errors, which Click would print as a usage block, become one line too: `make_context`
    catches those of the root's own options, `invoke` those of the sub-commands.
    """

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except ClickUsageError as error:
            usage_failed(error)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ClickUsageError as error:
            usage_failed(error)
        except SeriesdataError as error:
            fail(ctx, str(error), error.exit_code)
        except KeyboardInterrupt:
            fail(ctx, "interrupted", EXIT_INTERRUPTED)
        except Exception as error:
            import peewee  # here, not at the top: building the CLI stays light

            if not isinstance(error, sqlite3.Error | peewee.PeeweeException):
                raise
            from seriesdata.storage.db import translate

            fail(ctx, str(translate(error, _db_name(ctx))), 1)


def _db_name(ctx: Any) -> str:
    state = ctx.find_root().obj
    settings = getattr(state, "_settings", None)
    return str(settings.db) if settings else "the database"


def usage_failed(error: Any) -> None:
    """`error: No such option: --bogus (see 'seriesdata import-missing --help')`, exit 2."""
    if type(error).__name__ == "NoArgsIsHelpError":
        raise error  # a bare group (`seriesdata`, `seriesdata add`): Typer prints the help
    from seriesdata.cli.output import Output

    context = getattr(error, "ctx", None)
    where = f" (see '{context.command_path} --help')" if context is not None else ""
    message = " ".join(error.format_message().split())  # Click wraps some messages over lines
    message = message.replace(": Value error, ", ": ")  # Typer's validation prefix says nothing
    Output().error(f"{message}{where}")
    raise typer.Exit(EXIT_USAGE)


def fail(ctx: Any, message: str, code: int) -> None:
    from seriesdata.redact import Redactor

    state = ctx.find_root().obj
    secrets = [
        os.environ.get("SERIESDATA_TVDB_API_KEY", ""),
        os.environ.get("SERIESDATA_TVDB_PIN", ""),
    ]
    settings = getattr(state, "_settings", None)
    if settings is not None:
        secrets += settings.secrets()
    output = state.output if isinstance(state, State) else None
    text = Redactor(secrets)(message)
    if output is not None:
        output.error(text)
    else:
        sys.stderr.write(f"error: {text}\n")
    if os.environ.get("SERIESDATA_RAISE_ERRORS"):
        raise
    raise typer.Exit(code)


app = typer.Typer(
    cls=SeriesdataGroup,
    name="seriesdata",
    help=(
        "Keep a catalogue of TV series and episodes in one SQLite file, filled from TheTVDB v4 "
        "or TVmaze.\n\nExample: seriesdata add series 81189 && seriesdata import-missing series"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"seriesdata {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Database file. [env: SERIESDATA_DB]", show_default=False),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML config file. [env: SERIESDATA_CONFIG]", show_default=False),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            help="auto, tvdb or tvmaze. [env: SERIESDATA_PROVIDER]",
            show_default=False,
        ),
    ] = None,
    json_mode: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    state = get_state(ctx)
    state.db, state.config, state.provider = db, config, provider
    state.merge(json_mode, quiet, verbose)


@app.command()
def init(
    ctx: typer.Context, json_mode: JsonOption = False, quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:  # fmt: skip
    """Create the database, or migrate it to the current schema (every command migrates too).

    Example: seriesdata --db ~/tv.db init
    """
    state = get_state(ctx)
    output = state.merge(json_mode, quiet, verbose)
    path = state.open_db()
    from seriesdata.storage.migrations import MIGRATIONS

    if output.json_mode:
        output.json({"db": str(path), "schema_version": len(MIGRATIONS)})
    else:
        output.info(f"Database ready: {path} (schema version {len(MIGRATIONS)})")


def _register() -> None:
    from seriesdata.cli import add, config, cron, jobs, listing, logs, status, updates

    app.add_typer(add.app, name="add")
    app.command("import-missing")(jobs.import_missing)
    app.command("check-updates")(updates.check_updates)
    app.command("status")(status.status)
    app.command("list")(listing.list_rows)
    app.add_typer(logs.app, name="logs")
    app.command("cron")(cron.cron)
    app.add_typer(config.app, name="config")


_register()


def main() -> None:
    app(prog_name="seriesdata")
