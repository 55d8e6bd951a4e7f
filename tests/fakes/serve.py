"""Run one fake in the foreground: `python -m tests.fakes.serve --provider tvdb --demo`.

The first stdout line is the base URL (flushed), so scripts can read it and point the CLI
at the fake. Stops cleanly on SIGINT/SIGTERM, then prints on stderr how many requests it served and
how many it refused with a 429 (e.g. to check a manual run kept to the rate limit).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .base import FakeServer
from .demo import load_tvdb_demo, load_tvmaze_demo
from .tvdb_server import FakeTvdb
from .tvmaze_server import FakeTvmaze


def build(provider: str, port: int, api_key: str, demo: bool) -> FakeServer:
    """Create (not start) the requested fake, optionally with the demo catalogue."""
    if provider == "tvdb":
        tvdb = FakeTvdb(api_key=api_key, port=port)
        if demo:
            load_tvdb_demo(tvdb)
        return tvdb
    tvmaze = FakeTvmaze(port=port)
    if demo:
        load_tvmaze_demo(tvmaze)
    return tvmaze


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--provider", choices=("tvdb", "tvmaze"), required=True)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", default="demo-key")
    parser.add_argument("--demo", action="store_true", help="preload real-looking series")
    args = parser.parse_args(argv)
    server = build(args.provider, args.port, args.api_key, args.demo)
    server.host = args.host
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        server.start()
    except OSError as error:
        print(
            f"fake server: cannot listen on {args.host}:{args.port}: {error.strerror}"
            " (try another --port, or --port 0 for a free one)",
            file=sys.stderr,
        )
        return 1
    print(server.url, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
        hits = server.hits()
        refused = sum(1 for hit in hits if hit.status == 429)
        print(f"{len(hits)} requests served, {refused} answered 429", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
