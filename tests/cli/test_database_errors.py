"""The gql-server command facing a database it cannot use, as a new user meets it: one
line naming the setting and the fix, exit status 2, and no file left behind."""

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gql_server.cli import main
from gql_server.db.migrate import head_revision, pending_revisions
from gql_server.db.opening import database_label
from gql_server.db.session import Database
from tests.conftest import MYSQL_URL, drop_mysql_database, recreate_mysql_database, require_mysql
from tests.support.fake_moonraker import closed_port_url
from tests.support.served import GQL_SERVER, start_server, stop, wait_healthy

STOP_TIMEOUT = 30.0
CREATE = ["api-key", "create", "--name", "ci", "--scope", "READ"]
DATABASE_COMMANDS = [
    ["api-key", "list"],
    CREATE,
    ["api-key", "revoke", "ci"],
    ["sync"],
    ["rotate-secret", "--generate"],
]


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """The one line on stderr of a command that must exit 2 having printed nothing else."""
    code = main(argv)
    captured = capsys.readouterr()
    assert (code, captured.out, captured.err.count("\n")) == (2, "", 1), captured
    return captured.err


@pytest.fixture
def outside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with nothing in it and DATABASE_URL unset: the default."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GQL_SECRET_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def empty_mariadb_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A MariaDB database of this test process's own, never migrated."""
    url = f"{MYSQL_URL}_empty"
    require_mysql(url)
    recreate_mysql_database(url)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    drop_mysql_database(url)


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A database that exists but was never migrated: on SQLite a file with no tables, as
    earlier releases left wherever a command was started."""
    if request.param == "mariadb":
        url: str = request.getfixturevalue("empty_mariadb_url")
        return url
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return f"sqlite:///{path}"


@pytest.mark.parametrize("argv", DATABASE_COMMANDS, ids=lambda argv: " ".join(argv[:2]))
def test_a_command_without_a_database_says_to_migrate_and_creates_no_file(
    outside_the_project: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    error = _refused(capsys, argv)
    assert error.startswith(
        f"error: there is no database at {outside_the_project / 'gql_server.db'}: "
        "run `gql-server migrate`"
    )
    assert os.listdir(outside_the_project) == []


def test_the_installed_command_answers_in_one_line_without_a_traceback(
    outside_the_project: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [GQL_SERVER, "api-key", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, len(done.stderr.splitlines())) == (2, "", 1)
    assert "gql-server migrate" in done.stderr and os.listdir(outside_the_project) == []


@pytest.mark.parametrize("argv", [["api-key", "list"], ["sync"]], ids=["list", "sync"])
def test_a_command_on_an_unmigrated_database_says_to_migrate(
    empty_database_url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert _refused(capsys, argv) == (
        f"error: the database {database_label(empty_database_url)} is not migrated "
        f"(revision none, newest {head_revision()}): run `gql-server migrate`\n"
    )


@pytest.mark.mariadb
def test_serve_refuses_an_unmigrated_mariadb_database(
    empty_mariadb_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite is migrated by serve itself (a first run just works); MariaDB never is."""
    assert "is not migrated" in _refused(capsys, ["serve"])


def test_migrate_names_the_revisions_it_applied_then_says_none_were_needed(
    empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    label, head = database_label(empty_database_url), head_revision()
    assert main(["migrate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    applied = [line.split(":")[0].removeprefix("applied ") for line in lines[1:-1]]
    assert applied == [revision for revision, _ in pending_revisions(None)]
    assert (lines[0], lines[-1]) == (
        f"database: {label}",
        f"the database is now at the newest revision, {head}",
    )
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == (
        f"database: {label}\nthe database is already at the newest revision, {head}\n"
    )


def test_the_database_is_shown_without_its_password() -> None:
    label = database_label("mysql+pymysql://farm:s3cret@db.example:3306/printfarm")
    assert label == "mysql+pymysql://farm:***@db.example:3306/printfarm"


def test_a_relative_sqlite_path_is_shown_from_the_working_directory(
    outside_the_project: Path,
) -> None:
    assert database_label("sqlite:///farm.db") == str(outside_the_project / "farm.db")


# --- settings that used to end in a traceback -------------------------------------------


def test_a_port_out_of_range_names_gql_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GQL_PORT", "99999")
    assert _refused(capsys, ["serve"]) == (
        "configuration error: GQL_PORT must be a port from 1 to 65535, got 99999\n"
    )


def test_a_malformed_host_names_gql_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GQL_HOST", "not..a..host")
    error = _refused(capsys, ["serve"])
    assert error.startswith("configuration error: GQL_HOST must be a hostname or an IP address")


@pytest.mark.parametrize("argv", [["migrate"], ["api-key", "list"]], ids=["migrate", "list"])
def test_a_sqlite_file_in_a_missing_directory_names_database_url(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/absent/farm.db")
    assert _refused(capsys, argv) == (
        f"configuration error: DATABASE_URL names {tmp_path}/absent/farm.db, but the "
        f"directory {tmp_path}/absent does not exist: create it, or set DATABASE_URL to a "
        "file in an existing directory\n"
    )
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("argv", [["migrate"], ["api-key", "list"]], ids=["migrate", "list"])
def test_an_unreachable_database_server_names_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    port = closed_port_url().rsplit(":", 1)[1]
    monkeypatch.setenv("DATABASE_URL", f"mysql+pymysql://root@127.0.0.1:{port}/farm")
    error = _refused(capsys, argv)
    assert error.startswith(
        f"configuration error: DATABASE_URL: no database server answers at 127.0.0.1:{port}"
    )
    assert error.endswith("start it, or correct the host and port in DATABASE_URL\n")


@pytest.mark.mariadb
@pytest.mark.parametrize("argv", [["migrate"], ["api-key", "list"]], ids=["migrate", "list"])
def test_an_unknown_mariadb_database_names_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    url = f"{MYSQL_URL}_absent"  # this process's prefix: nobody else's database
    require_mysql(url)
    name = url.rsplit("/", 1)[1]
    monkeypatch.setenv("DATABASE_URL", url)
    assert _refused(capsys, argv).startswith(
        f"configuration error: DATABASE_URL names the database '{name}', which does not "
        f"exist on 127.0.0.1:3306: create it (CREATE DATABASE `{name}`"
    )


# --- serve says what it runs --------------------------------------------------------------


def test_serve_prints_the_database_the_graphql_url_and_the_features(
    database: Database, tmp_path: Path
) -> None:
    url = database.engine.url.render_as_string(hide_password=False)
    env = {"DATABASE_URL": url, "GQL_SYNC_INTERVAL": "600", "GQL_INTROSPECTION": "false"}
    server = start_server(tmp_path / "serve.log", env)
    try:
        wait_healthy(server)
    finally:
        stop([server], STOP_TIMEOUT)
    lines = server.output().splitlines()
    assert f"database:      {database_label(url)}" in lines
    assert f"GraphQL:       {server.url}/graphql" in lines
    assert "introspection: off" in lines
    assert "periodic sync: every 600 s, 4 printers at once" in lines


def test_serve_on_a_new_sqlite_file_migrates_it_and_says_so(tmp_path: Path) -> None:
    server = start_server(tmp_path / "serve.log", {"DATABASE_URL": f"sqlite:///{tmp_path}/n.db"})
    try:
        wait_healthy(server)
    finally:
        stop([server], STOP_TIMEOUT)
    applied = [line for line in server.output().splitlines() if line.startswith("applied ")]
    assert len(applied) == len(pending_revisions(None))


def test_a_database_from_a_newer_release_is_not_sent_to_migrate(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = database.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    try:
        error = _refused(capsys, ["api-key", "list"])
    finally:
        with database.engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()}
            )
    assert (
        f"is at revision 9999, which this gql_server does not know (newest {head_revision()})"
        in error
    )


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_fewer_than_one_worker_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    """``serve --workers 0`` started one process and printed "workers: 0"."""
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", f"--workers={workers}"])
    assert exit_info.value.code == 2
    assert f"--workers must be at least 1, got {workers}" in capsys.readouterr().err
