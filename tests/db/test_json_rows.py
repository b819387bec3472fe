"""Rows sent as one JSON parameter (db/json_rows.py) are stored exactly as the driver's
parameter sets store them: the same doubles to the last bit, the same text byte for
byte, the same dates, times and NULLs."""

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, insert, select

from gql_server.db import json_rows
from gql_server.db.models import JobRollupDay, PrintFile, PrintFileTotal
from gql_server.db.session import Database
from gql_server.db.upsert import increment_statement
from gql_server.services.rollups import files
from tests.support.sql_counter import count_statements

DAYS = cast(Table, JobRollupDay.__table__)
KEYS = ("farm_zone", "day", "status", "has_filament_type", "filament_type_folded", "filament_type")
SUMS = ("job_count", "print_time", "total_time", "filament_used")

AWKWARD_TEXTS = [
    "PLA",
    "pla ",  # trailing space: its own key, byte for byte
    "PETG-CF 'Prusament' \"Galaxy\"",
    "back\\slash\\",
    "tab\tnew\nline",
    "Ästhetik-Gelb",
    "生丝 PLA",
    "🟢 silk",  # outside the BMP
    "x" * 100,  # the column's full width
    "",
]
AWKWARD_FLOATS = [
    0.1 + 0.2,
    1e-300,
    1.7976931348623157e308,
    -0.0,
    123456789.12345679,
    5e-324,
    1834.632296,
    -42.0,
]


def _day_rows() -> list[dict[str, Any]]:
    rows = []
    for index, text in enumerate(AWKWARD_TEXTS):
        value = AWKWARD_FLOATS[index % len(AWKWARD_FLOATS)]
        rows.append(
            {
                "farm_zone": index % 2 == 0,
                "day": date(2024, 3, 31) if index % 3 else date(1999, 12, 31),
                "status": "completed" if index % 2 else "klippy_shutdown",
                "has_filament_type": text != "",
                "filament_type_folded": text.lower(),
                "filament_type": text,
                "job_count": index - 3,
                "print_time": value,
                "total_time": -value,
                "filament_used": AWKWARD_FLOATS[(index + 3) % len(AWKWARD_FLOATS)],
            }
        )
    return rows


def _stored_days(database: Database) -> list[tuple[Any, ...]]:
    columns = [DAYS.c[name] for name in (*KEYS, *SUMS)]
    with database.engine.connect() as connection:
        rows = connection.execute(select(*columns)).all()
    return sorted((tuple(row) for row in rows), key=repr)


def _expected_days(batches: Sequence[Sequence[Mapping[str, Any]]]) -> list[tuple[Any, ...]]:
    held: dict[tuple[Any, ...], list[Any]] = {}
    for batch in batches:
        for row in batch:
            key = tuple(row[name] for name in KEYS)
            sums = held.get(key)
            if sums is None:
                held[key] = [row[name] for name in SUMS]
            else:
                for index, name in enumerate(SUMS):
                    sums[index] += row[name]
    return sorted((key + tuple(sums) for key, sums in held.items()), key=repr)


def _write_days(database: Database, rows: Sequence[Mapping[str, Any]]) -> bool:
    with database.engine.begin() as connection:
        statement = increment_statement(
            connection.dialect, DAYS, conflict_columns=KEYS, sum_columns=SUMS
        )
        statement.execute(connection, rows)
    return statement.as_json


def _bits(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with each float as its exact bits (-0.0 and 0.0 apart, as the bytes are)."""
    return [tuple(v.hex() if isinstance(v, float) else v for v in row) for row in rows]


def test_rollup_deltas_with_awkward_values_are_stored_and_added_exactly(
    database: Database,
) -> None:
    first = _day_rows()
    second = [
        dict(row, job_count=1, print_time=0.7, total_time=-0.5, filament_used=1e-9) for row in first
    ]
    _write_days(database, first)
    _write_days(database, second)
    stored = _stored_days(database)
    assert _bits(stored) == _bits(_expected_days([first, second]))


@pytest.mark.mariadb
def test_on_mariadb_the_rows_go_as_one_json_parameter_and_store_what_parameter_sets_store(
    mysql_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = mysql_database
    _clear(database)
    rows = _day_rows()
    with count_statements(database.engine) as log:
        assert _write_days(database, rows) is True
    (statement,) = log.statements
    assert "JSON_TABLE" in statement
    by_json = _stored_days(database)

    _clear(database)
    monkeypatch.setenv(json_rows.SETTING, "false")
    with count_statements(database.engine) as log:
        assert _write_days(database, rows) is False
    assert "JSON_TABLE" not in log.statements[0]
    assert _bits(_stored_days(database)) == _bits(by_json)
    assert len(by_json) == len(rows)


@pytest.mark.mariadb
def test_file_totals_with_null_rates_and_microsecond_starts_store_alike_both_ways(
    mysql_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = mysql_database
    totals = cast(Table, PrintFileTotal.__table__)

    def write_and_read(as_json: bool) -> list[tuple[Any, ...]]:
        _clear(database)
        monkeypatch.setenv(json_rows.SETTING, "true" if as_json else "false")
        with database.engine.begin() as connection:
            connection.execute(
                insert(PrintFile),
                [
                    {"id": n, "filename": f"f{n}", "filename_digest": f"{n:064}"}
                    | {"filename_folded": f"f{n}"}
                    for n in (1, 2, 3)
                ],
            )
            statement = files._increment.__wrapped__(connection.dialect, totals)
            assert statement.as_json is as_json
            statement.execute(connection, _file_rows())
            statement.execute(connection, _file_rows())
            rows = connection.execute(select(totals).order_by(totals.c.file_id)).all()
        return _bits([tuple(row) for row in rows])

    assert write_and_read(True) == write_and_read(False)


def _file_rows() -> list[dict[str, Any]]:
    start = datetime(2024, 10, 27, 1, 59, 59, 999_999, tzinfo=UTC)
    return [
        {
            "file_id": file_id,
            "job_count": 1,
            "completed_count": completed,
            "finished_count": finished,
            "completed_print_time": 1834.632296 * completed,
            "filament_used": 0.1 + 0.2,
            # The last in another zone: stored as its UTC time either way.
            "last_start": start.replace(microsecond=file_id).astimezone(zone),
            "success_rate": completed / finished if finished else None,
        }
        for file_id, completed, finished, zone in (
            (1, 1, 1, UTC),
            (2, 0, 0, UTC),
            (3, 0, 1, ZoneInfo("Asia/Kolkata")),
        )
    ]


def _clear(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(DAYS.delete())
        connection.execute(PrintFileTotal.__table__.delete())
        connection.execute(PrintFile.__table__.delete())


def test_json_rows_are_off_on_sqlite_and_by_the_setting(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.engine.connect() as connection:
        dialect = connection.dialect
        assert json_rows.enabled(dialect) is (database.engine.dialect.name != "sqlite")
        monkeypatch.setenv(json_rows.SETTING, "false")
        assert json_rows.enabled(dialect) is False
