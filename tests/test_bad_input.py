"""Bad input (SPEC §5): one clear stderr line, the documented exit code, and nothing stored is changed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.tvdb_server import FakeTvdb
from tests.helpers import Result, cli, dump, query, run


def one_error_line(result: Result, *fragments: str) -> str:
    """The result failed with exactly one `error: ...` line on stderr that names every fragment."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("error: "), line
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in line, line
    return line


@pytest.fixture
def catalogue(db_path: Path) -> list[str]:
    """A database with two series in it; returns its dump, to show nothing changed later."""
    assert cli("add", "series", "81189", "121361").exit_code == 0
    return dump(db_path)


# --- malformed ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["abc", "-5", "1.5", "0", "1e3", "81189x", "", " "])
def test_malformed_id_is_refused_and_nothing_added(bad: str, db_path: Path, catalogue: list[str]) -> None:
    result = cli("add", "series", "78878", bad)

    assert result.exit_code == 2
    one_error_line(result, "malformed TheTVDB id", repr(bad))
    assert dump(db_path) == catalogue  # 78878, given before the bad id, is not added either


def test_malformed_id_in_a_file_names_the_line(tmp_path: Path, db_path: Path, catalogue: list[str]) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("78878\n# a comment\n\n264492\n12.5\n")

    result = cli("add", "series", "--file", str(ids))

    assert result.exit_code == 2
    one_error_line(result, f"{ids}, line 5", "'12.5'")
    assert dump(db_path) == catalogue


def test_malformed_id_in_a_csv_names_the_row(tmp_path: Path, db_path: Path, catalogue: list[str]) -> None:
    ids = tmp_path / "ids.csv"
    ids.write_text("name,tvdb_id\nLost,73739\nBroken,n/a\n")

    result = cli("add", "series", "--file", str(ids))

    assert result.exit_code == 2
    one_error_line(result, "line 3", "'n/a'")
    assert dump(db_path) == catalogue


def test_malformed_id_from_stdin(db_path: Path, catalogue: list[str]) -> None:
    result = cli("add", "series", "--file", "-", input="78878\n-3\n")

    assert result.exit_code == 2
    one_error_line(result, "stdin, line 2", "'-3'")
    assert dump(db_path) == catalogue


def test_unreadable_id_file(tmp_path: Path, db_path: Path, catalogue: list[str]) -> None:
    result = cli("add", "series", "--file", str(tmp_path / "missing.txt"))

    assert result.exit_code == 2
    one_error_line(result, "cannot read", "No such file or directory")
    binary = tmp_path / "ids.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    result = cli("add", "series", "--file", str(binary))
    assert result.exit_code == 2
    one_error_line(result, "not a UTF-8 text file")
    assert dump(db_path) == catalogue


def test_malformed_episode_options(db_path: Path, catalogue: list[str]) -> None:
    for args, fragment in [
        (["--series", "abc", "--season", "1", "--number", "1"], "malformed TheTVDB id 'abc'"),
        (["--series", "81189", "--tvdb-id", "x1"], "malformed episode id 'x1'"),
        (["--series", "81189", "--season", "1"], "give --tvdb-id, or both --season and --number"),
        (["--series", "999", "--season", "1", "--number", "1"], "series 999 is not in the catalogue"),
    ]:
        result = cli("add", "episode", *args)
        assert result.exit_code == 2, args
        one_error_line(result, fragment)
    assert dump(db_path) == catalogue


# --- unknown commands and options (real processes: Click's own parsing, exit codes) ------------------


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["bogus"], "No such command 'bogus'"),
        (["--bogus", "init"], "No such option: --bogus"),
        (["import-missing", "series", "--bogus"], "No such option: --bogus"),
        (["import-missing", "films"], "'films' is not one of"),
        (["import-missing"], "Missing argument"),
        (["import-missing", "series", "--limit", "x"], "--limit"),
        (["import-missing", "series", "--limit", "-1"], "--limit"),
        (["add", "series", "81189", "--bogus"], "no such option: --bogus"),
    ],
)
def test_unknown_command_or_option_exits_2(
    args: list[str], fragment: str, db_path: Path, catalogue: list[str]
) -> None:
    result = run(*args)

    assert result.exit_code == 2
    line = one_error_line(result, fragment)
    assert "--help" in line or "Missing" in line or "no such option" in line
    assert result.stdout == ""
    assert dump(db_path) == catalogue


def test_bare_group_still_prints_help() -> None:
    result = cli("add")
    assert result.exit_code == 2
    assert "series" in result.stdout + result.stderr and "error:" not in result.stderr


# --- the database file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"id,name\n1,Lost\n",  # a CSV given by mistake
        bytes(range(256)) * 16,  # binary junk
        b"SQLite format 3\x00" + bytes(4080),  # a damaged database: the right header, nothing else
    ],
    ids=["text", "binary", "damaged"],
)
def test_db_that_is_not_sqlite_is_left_untouched(content: bytes, tmp_path: Path) -> None:
    target = tmp_path / "notes.db"
    target.write_bytes(content)
    before = sorted(os.listdir(tmp_path))

    commands = [
        ["init"], ["add", "series", "81189"], ["--provider", "tvmaze", "import-missing", "series"],
        ["--provider", "tvmaze", "check-updates", "series"], ["status"], ["list", "series"], ["logs"],
    ]  # fmt: skip
    for args in commands:
        result = cli("--db", str(target), *args)
        assert result.exit_code == 2, args
        one_error_line(result, str(target), "left untouched")

    assert target.read_bytes() == content
    assert sorted(os.listdir(tmp_path)) == before  # no -wal, -shm or lock file either


def test_db_in_a_missing_directory(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "tv.db"

    result = run("--db", str(target), "add", "series", "81189")

    assert result.exit_code == 2
    one_error_line(result, "does not exist")
    assert not (tmp_path / "no").exists()


def test_db_that_is_a_directory(tmp_path: Path) -> None:
    result = cli("--db", str(tmp_path), "init")
    assert result.exit_code == 2
    one_error_line(result, "is a directory")


@pytest.fixture
def read_only(db_path: Path, catalogue: list[str]) -> Iterator[Path]:
    """Make the database file read-only in a way that holds for root too (tests run as root here).

    File modes do not stop root, so as root the file is made immutable (`chattr +i`, which root
    obeys); as anyone else `chmod 444` is what a user would do.
    """
    if os.geteuid() != 0:
        db_path.chmod(0o444)
        yield db_path
        db_path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(db_path)], capture_output=True).returncode:
        pytest.skip("running as root on a filesystem without chattr +i: cannot make a file read-only")
    try:
        yield db_path
    finally:
        subprocess.run([chattr, "-i", str(db_path)], check=True)


def test_read_only_database(read_only: Path, catalogue: list[str], with_tvdb: FakeTvdb) -> None:
    with_tvdb.add_series(81189, episodes=2)

    for args in (
        ["add", "series", "78878"],
        ["import-missing", "series"],
        ["logs", "prune", "--older-than", "0"],
    ):
        result = run(*args)
        assert result.exit_code == 1, args
        one_error_line(result, str(read_only), "read-only")

    assert dump(read_only) == catalogue
    assert with_tvdb.count("/series") == 0  # nothing fetched that could not be stored


def test_database_locked_by_another_writer(
    db_path: Path, catalogue: list[str], with_tvdb: FakeTvdb, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_tvdb.add_series(81189, episodes=2)
    with_tvdb.add_series(121361, episodes=2)
    monkeypatch.setenv("SERIESDATA_BUSY_TIMEOUT", "0.2")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for args in (["add", "series", "78878"], ["import-missing", "series"], ["check-updates", "series"]):
            result = run(*args)
            assert result.exit_code == 1, args
            one_error_line(result, "locked by another writer", "waited 0.2 s")
        assert run("status").exit_code == 0  # readers are not blocked
        assert run("import-missing", "series", "--dry-run").exit_code == 0  # readers are not blocked
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert dump(db_path) == catalogue
    # Once the other writer is done, the same command works.
    assert run("import-missing", "series").exit_code == 0


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "toml, fragment",
    [
        ("workers = \n", "is not valid TOML"),
        ("[section\n", "is not valid TOML"),
        ("wrokers = 4\n", "unknown setting 'wrokers'"),
        ('workers = "many"\n', "invalid workers"),
        ("workers = 0\n", "invalid workers"),
        ("workers = true\n", "invalid workers"),
        ('provider = "imdb"\n', "invalid provider"),
        ('languages = "english"\n', "invalid languages"),
        ('tvmaze_rate_limit = "fast"\n', "invalid tvmaze_rate_limit 'fast'"),
        ("timeout = -1\n", "invalid timeout"),
        ("busy_timeout = 0\n", "invalid busy_timeout"),
        ("retries = 1.5\n", "invalid retries"),
        ("backoff = -1\n", "invalid backoff"),
        ('timeout = "nan"\n', "invalid timeout"),
    ],
)
def test_invalid_config_file(
    toml: str, fragment: str, tmp_path: Path, db_path: Path, catalogue: list[str]
) -> None:
    config = tmp_path / "seriesdata.toml"
    config.write_text(toml)

    result = cli("--config", str(config), "add", "series", "78878")

    assert result.exit_code == 2
    one_error_line(result, fragment)
    assert dump(db_path) == catalogue


@pytest.mark.parametrize(
    "name, value",
    [
        ("SERIESDATA_WORKERS", "-2"),
        ("SERIESDATA_PROVIDER", "netflix"),
        ("SERIESDATA_TIMEOUT", "soon"),
        ("SERIESDATA_RETRIES", "0"),
        ("SERIESDATA_BUSY_TIMEOUT", "x"),
        ("SERIESDATA_TVDB_RATE_LIMIT", "100"),
        ("SERIESDATA_LANGUAGES", "en,de"),
        ("SERIESDATA_BACKOFF", "-0.5"),
        ("SERIESDATA_TIMEOUT", "inf"),
    ],
)
def test_invalid_environment_value(
    name: str, value: str, db_path: Path, catalogue: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)

    result = cli("import-missing", "series")

    assert result.exit_code == 2
    one_error_line(result, "invalid")
    assert dump(db_path) == catalogue


def test_missing_config_file_given_explicitly(tmp_path: Path) -> None:
    result = cli("--config", str(tmp_path / "nope.toml"), "init")
    assert result.exit_code == 2
    one_error_line(result, "does not exist")


def test_missing_api_key_with_provider_tvdb(db_path: Path, catalogue: list[str], tvdb: FakeTvdb) -> None:
    result = run("--provider", "tvdb", "import-missing", "series", env={"SERIESDATA_TVDB_URL": tvdb.url})

    assert result.exit_code == 2
    one_error_line(result, "needs an API key", "SERIESDATA_TVDB_API_KEY")
    assert dump(db_path) == catalogue
    assert tvdb.count() == 0
    assert query(db_path, "SELECT count(*) FROM job_logs") == [(0,)]


def test_another_programs_sqlite_database_is_left_untouched(tmp_path: Path) -> None:
    other = tmp_path / "photos.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
    conn.execute("INSERT INTO photos (path) VALUES ('a.jpg')")
    conn.commit()
    conn.close()
    before = other.read_bytes()

    result = cli("--db", str(other), "add", "series", "81189")

    assert result.exit_code == 2
    assert "another program's SQLite database" in result.stderr
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("photos")) == ["photos.db"]
