"""Driving the CLI from tests: in-process for behaviour, as a subprocess for exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

API_KEY = "test-key"


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def cli(*args: str, input: str | None = None) -> Result:
    """Run the CLI in-process (typer's CliRunner), stdout and stderr apart."""
    from seriesdata.cli.app import app

    result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def run(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
) -> Result:
    """Run the CLI as a real subprocess, as a shell script would."""
    proc = subprocess.run(
        [sys.executable, "-m", "seriesdata", *args], capture_output=True, text=True,
        env={**os.environ, **(env or {})}, input=input, timeout=timeout,
    )  # fmt: skip
    return Result(proc.returncode, proc.stdout, proc.stderr)


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def dump(db: Path) -> list[str]:
    """Every table's rows as SQL text: equal dumps mean nothing was written."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
