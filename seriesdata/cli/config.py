"""`config show`: the effective settings and where each came from, secrets redacted."""

from __future__ import annotations

import typer

from seriesdata.cli.state import JsonOption, QuietOption, VerboseOption, get_state

app = typer.Typer(
    no_args_is_help=True,
    help="Inspect the configuration (option > environment > config file > default).\n\n"
    "Example: seriesdata config show",
)


@app.command("show")
def show(
    ctx: typer.Context, json_mode: JsonOption = False, quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:  # fmt: skip
    """Show each setting's effective value and its source; the API key and PIN are never shown.

    With --json: {"config_file": ..., "config_file_exists": ..., "provider_in_use": ...,
    "settings": {NAME: {"value": ..., "source": ...}}}.

    Example: seriesdata --provider tvmaze config show --json
    """
    state = get_state(ctx)
    output = state.merge(json_mode, quiet, verbose)
    settings = state.settings()
    rows = settings.shown()
    path = settings.config_file
    exists = bool(path and path.exists())
    if output.json_mode:
        output.json(
            {
                "config_file": str(path) if path else None,
                "config_file_exists": exists,
                "provider_in_use": settings.resolved_provider,
                "settings": {name: {"value": value, "source": source} for name, value, source in rows},
            }
        )
        return
    output.table(["setting", "value", "source"], rows)
    output.line(f"Config file: {path}" + ("" if exists else " (not found; optional)"))
    output.line(f"Provider in use: {settings.resolved_provider}")
