"""Local fakes of TheTVDB v4 and TVmaze for tests and manual runs."""

from .base import FakeServer, Faults, Hit
from .tvdb_server import FakeTvdb
from .tvmaze_server import FakeTvmaze

__all__ = ["FakeServer", "FakeTvdb", "FakeTvmaze", "Faults", "Hit"]
