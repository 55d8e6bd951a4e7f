"""What the root callback collects for the commands: global options, settings, the open database."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from seriesdata.cli.output import Output

# --json, --quiet and --verbose work before the command and after it (SPEC §3): the root callback takes
# them, and so does every command, through these shared definitions.
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON on stdout.", show_default=False)
]
QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print nothing unless something went wrong.", show_default=False),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Print more detail on stderr.", show_default=False)
]


@dataclass
class State:
    db: Path | None = None
    config: Path | None = None
    provider: str | None = None
    json_mode: bool = False
    quiet: bool = False
    verbose: bool = False
    _settings: Any = field(default=None, repr=False)
    _output: Output | None = field(default=None, repr=False)

    def merge(self, json_mode: bool = False, quiet: bool = False, verbose: bool = False) -> Output:
        """Fold a command's own --json/--quiet/--verbose into the global ones; return the Output."""
        self.json_mode |= json_mode
        self.quiet |= quiet
        self.verbose |= verbose
        self._output = Output(json_mode=self.json_mode, quiet=self.quiet, verbose=self.verbose)
        return self._output

    @property
    def output(self) -> Output:
        if self._output is None:
            self._output = Output(json_mode=self.json_mode, quiet=self.quiet, verbose=self.verbose)
        return self._output

    def settings(self) -> Any:
        if self._settings is None:
            from seriesdata.config import load_settings

            options = {"db": self.db, "provider": self.provider}
            self._settings = load_settings(options, config_file=self.config)
        return self._settings

    def open_db(self) -> Path:
        """Open (and migrate) the database; returns its path. Creates the default data directory."""
        from seriesdata.storage.db import open_database

        settings = self.settings()
        path = Path(settings.db).expanduser()
        if settings.sources.get("db") is None:  # the default location: ours to create
            path.parent.mkdir(parents=True, exist_ok=True)
        open_database(path, busy_timeout=settings.busy_timeout)
        return path


def get_state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj
