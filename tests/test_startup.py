"""Scripts call `seriesdata --version` in loops: the CLI must start without its heavy libraries."""

from __future__ import annotations

import subprocess
import sys

# Rich (~25 ms) is still imported by the output module and the listing commands; these cost more.
HEAVY = ("httpx", "peewee", "pydantic", "filelock", "platformdirs")


def test_building_the_cli_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from seriesdata.cli.app import app\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
