"""``gql-server export``: the server's export files, written from the command line."""

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gql_server.app import create_app
from gql_server.cli import main
from gql_server.config import Settings
from gql_server.db.session import Database
from tests.factories import TEST_SECRET
from tests.graphql.conftest import make_key
from tests.support.export_jobs import seed_jobs
from tests.support.live_server import LiveServer

FILTER = {"statuses": ["COMPLETED", "UNKNOWN"], "orderBy": "END_TIME", "direction": "ASC"}
OPTIONS = ["--status", "COMPLETED", "--status", "UNKNOWN", "--order-by", "END_TIME"]
OPTIONS += ["--direction", "ASC"]


@pytest.fixture
def served_export(database: Database) -> Iterator[httpx.Client]:
    settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET)
    key = make_key(database, "READ", name="reader")
    with (
        LiveServer(create_app(settings, database=database), name="gql-server") as live,
        httpx.Client(base_url=live.url, headers={"X-API-Key": key}, timeout=60) as client,
    ):
        yield client


@pytest.mark.parametrize("suffix", ["csv", "ndjson"])
def test_the_file_is_the_servers_export_under_the_same_filter(
    database: Database,
    database_url: str,
    served_export: httpx.Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    suffix: str,
) -> None:
    seed_jobs(database, count=150)
    output = tmp_path / f"jobs.{suffix}"
    assert main(["export", "--format", suffix, "--output", str(output), *OPTIONS]) == 0
    served = served_export.get(f"/export/print-jobs.{suffix}", params=FILTER)
    assert output.read_bytes() == served.content
    text = served.content.decode()
    rows = text.count("\n") if suffix == "ndjson" else len(list(csv.reader(io.StringIO(text)))) - 1
    assert f"export: {rows:,} rows written" in capsys.readouterr().err


def test_without_output_the_file_goes_to_stdout(
    database: Database,
    database_url: str,
    served_export: httpx.Client,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    seed_jobs(database, count=30)
    assert main(["export", "--format", "csv"]) == 0
    written = capsysbinary.readouterr()
    assert written.out == served_export.get("/export/print-jobs.csv").content
    assert written.err.endswith(b"export: 30 rows written\n")


def test_a_bad_option_exits_2_naming_it_and_writes_nothing(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "jobs.csv"
    status = main(["export", "--format", "csv", "-o", str(output), "--status", "DONE"])
    assert status == 2
    assert "--status, BAD_PARAMETER" in capsys.readouterr().err
    assert not output.exists()


def test_a_failure_midway_leaves_the_file_as_it_was_and_no_temporary_file(
    cli_database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_jobs(cli_database, count=10)
    output = tmp_path / "out" / "jobs.csv"
    output.parent.mkdir()
    output.write_text("the previous export\n")
    with cli_database.engine.begin() as connection:  # the batches' query fails; the header
        connection.exec_driver_sql("DROP TABLE job_details")  # is written before it
    status = main(["export", "--format", "csv", "-o", str(output)])
    assert status == 1
    assert "database error" in capsys.readouterr().err
    assert output.read_text() == "the previous export\n"
    assert list(output.parent.iterdir()) == [output]
