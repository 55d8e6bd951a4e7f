"""`python -m tests.benchmarks [--quick] [--only NAME ...]`: run the benchmarks, print one table."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from tests.benchmarks.common import CACHE, Context, Row

BENCHMARKS = ("startup", "requests", "workers", "writer", "scale")


def table(rows: list[Row]) -> str:
    header = ("benchmark", "setting", "measured", "target", "met")
    cells = [header, *((r.benchmark, r.setting, r.measured, r.target, r.verdict) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (no 1M database)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=BENCHMARKS)
    args = parser.parse_args(argv)
    ctx = Context(quick=args.quick)
    rows: list[Row] = []
    for name in args.only:
        started = time.monotonic()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"tests.benchmarks.bench_{name}")
        rows += module.run(ctx)
        print(f"  {name}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    print(table(rows))
    print(f"\n(databases cached in {CACHE}; Python {sys.version.split()[0]})")
    return 1 if any(row.ok is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
