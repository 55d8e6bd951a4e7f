"""Peewee models over the tables that `migrations.py` creates (the migrations own the schema)."""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import (
    AutoField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
)

# Deferred: `storage.db.open_database` initialises it. IMMEDIATE transactions take the write lock at
# BEGIN, so a read-then-write transaction waits for the busy timeout instead of failing at once.
db = SqliteDatabase(None, lock_type="IMMEDIATE")

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def utcnow() -> datetime:
    """Naive UTC with whole seconds: stored as `YYYY-MM-DD HH:MM:SS`, comparable with SQLite's datetime()."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class Timestamp(DateTimeField):
    """UTC text `YYYY-MM-DD HH:MM:SS` (SPEC §4), so `datetime('now', '-24 hours')` compares with it."""

    formats = [TIMESTAMP_FORMAT, "%Y-%m-%d %H:%M:%S.%f"]

    def db_value(self, value: datetime | str | None) -> str | None:
        if isinstance(value, datetime):
            return value.strftime(TIMESTAMP_FORMAT)
        return value


class BaseModel(Model):
    class Meta:
        database = db


class ItemState(BaseModel):
    """Columns shared by series and episodes: imported data and the retry bookkeeping."""

    data_last_updated_at = Timestamp(null=True)
    tvmaze_id = IntegerField(null=True)
    url = TextField(null=True)
    translations = TextField(null=True)  # JSON {lang: {"name":…, "overview":…}}
    attempts = IntegerField(default=0)
    last_error = TextField(null=True)
    last_attempt_at = Timestamp(null=True)
    next_attempt_at = Timestamp(null=True)
    not_found_at = Timestamp(null=True)
    removed_upstream_at = Timestamp(null=True)
    created_at = Timestamp(default=utcnow)


class Series(ItemState):
    id = AutoField()
    tvdb_id = IntegerField(unique=True)
    name = TextField(null=True)
    overview = TextField(null=True)
    status = TextField(null=True)
    first_aired = TextField(null=True)
    year = IntegerField(null=True)
    original_language = TextField(null=True)
    image_url = TextField(null=True)
    upstream_changed_at = Timestamp(null=True)  # m002: the latest change a feed reported

    class Meta:
        table_name = "series"


class Episode(ItemState):
    id = AutoField()
    series = ForeignKeyField(Series, column_name="series_id", backref="episodes", on_delete="CASCADE")
    tvdb_id = IntegerField(null=True)
    season_number = IntegerField(null=True)
    number = IntegerField(null=True)
    name = TextField(null=True)
    overview = TextField(null=True)
    aired = TextField(null=True)
    runtime = IntegerField(null=True)
    image_url = TextField(null=True)

    class Meta:
        table_name = "episodes"


class JobLog(BaseModel):
    id = AutoField()
    job_class = TextField()
    status = TextField()
    message = TextField(null=True)
    context = TextField(null=True)
    exception = TextField(null=True)
    loggable_type = TextField(null=True)
    loggable_id = IntegerField(null=True)
    created_at = TextField()  # with a fraction of a second: runs and items sort by it
    finished_at = TextField(null=True)
    duration_seconds = FloatField(null=True)
    run_id = IntegerField(null=True)  # item rows point at their run row
    pid = IntegerField(null=True)

    class Meta:
        table_name = "job_logs"


class ProviderState(BaseModel):
    provider = TextField()
    key = TextField()
    value = TextField(null=True)

    class Meta:
        table_name = "provider_state"
        primary_key = False


def precise_now() -> str:
    """A UTC timestamp with milliseconds, for job_logs rows."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
