"""Benchmarks for the performance targets of issue 5, run by hand: `python -m tests.benchmarks`.

Files are named `bench_*.py` so pytest does not collect them. Each module has `run(ctx) -> list[Row]`;
`__main__` runs them in order and prints one table. Databases for the scale benchmarks are built with
SQL (recursive CTEs) and cached under the system temp directory, so only the first run pays for them.
`check_updates.py` is a separate script (`python -m tests.benchmarks.check_updates`).
"""
