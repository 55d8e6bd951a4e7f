"""The command-line interface: it parses and prints; the library does the work."""

from __future__ import annotations


def main() -> None:
    from seriesdata.cli.app import main as run

    run()
