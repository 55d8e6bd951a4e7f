"""seriesdata: a catalogue of TV series and episodes in one SQLite file."""

__version__ = "0.1.0"
