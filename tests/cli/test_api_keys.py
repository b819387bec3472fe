"""``gql-server api-key``: keys from the shell, the secret shown once."""

from datetime import timedelta

import pytest

from gql_server.cli import main
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services.api_keys import display_prefix, find_by_key, is_well_formed
from tests.cli.conftest import CREATE_CI, create_key, run_cli


def test_create_prints_the_key_alone_on_the_last_line(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run_cli(capsys, *CREATE_CI).splitlines()
    key = lines[-1]
    assert is_well_formed(key)
    assert not any(key in line for line in lines[:-1])


def test_the_created_key_is_stored_with_its_scopes_and_expiry(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    key = create_key(capsys)
    with cli_database.scope() as session:
        stored = find_by_key(session, key)
    assert stored is not None and (stored.name, stored.scopes) == ("ci", "READ")
    assert stored.is_active and stored.expires_at is not None
    assert abs(stored.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)


def test_repeated_scopes_are_stored_together(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    key = create_key(
        capsys, "api-key", "create", "--name", "ops", "--scope", "WRITE", "--scope", "READ"
    )
    with cli_database.scope() as session:
        stored = find_by_key(session, key)
    assert stored is not None and stored.scopes == "READ WRITE" and stored.expires_at is None


def test_list_shows_scopes_in_the_order_the_api_uses(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    create_key(capsys, "api-key", "create", "--name", "ops", "--scope", "ADMIN", "--scope", "READ")
    (row,) = run_cli(capsys, "api-key", "list").splitlines()[1:]
    assert "READ,ADMIN" in row.split()


def test_list_shows_the_prefix_but_never_the_key(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    key = create_key(capsys)
    listing = run_cli(capsys, "api-key", "list")
    with cli_database.scope() as session:
        stored = find_by_key(session, key)
    assert stored is not None and stored.key_prefix in listing
    assert key not in listing and key[:-6] not in listing


def test_revoke_by_prefix_deactivates_the_key(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    key = create_key(capsys)
    prefix = display_prefix(key)
    assert run_cli(capsys, "api-key", "revoke", prefix).startswith(f"revoked key {prefix}")
    with cli_database.scope() as session:
        stored = find_by_key(session, key)
    assert stored is not None and stored.is_active is False


def test_revoking_an_unknown_key_fails_naming_it(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["api-key", "revoke", "nobody"]) == 1
    assert capsys.readouterr().err == "error: no API key with prefix or name 'nobody'\n"


def test_an_unknown_duration_unit_is_a_usage_error(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["api-key", "create", "--name", "ci", "--scope", "READ", "--expires-in", "5x"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "'5x' is not a duration like 30d, 12h or 90m" in capsys.readouterr().err
    assert "gqls_" not in run_cli(capsys, "api-key", "list")


@pytest.mark.parametrize("duration", ["36526d", "99999999d", "9999999999999w"])
def test_a_lifetime_beyond_100_years_is_a_usage_error(
    cli_database: Database, capsys: pytest.CaptureFixture[str], duration: str
) -> None:
    """99999999d used to end in 'OverflowError: date value out of range'."""
    argv = ["api-key", "create", "--name", "ci", "--scope", "READ", "--expires-in", duration]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert f"'{duration}' is longer than 100 years" in capsys.readouterr().err


def test_list_columns_line_up_when_a_key_expires(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    create_key(capsys)  # expires in 30 days
    create_key(capsys, "api-key", "create", "--name", "a-longer-name-than-most", "--scope", "ADMIN")
    header, *rows = run_cli(capsys, "api-key", "list").splitlines()
    starts = [header.index(column) for column in ("SCOPES", "ACTIVE", "EXPIRES", "LAST USED")]
    assert len(rows) == 2
    for row in rows:
        assert [(row[i - 1], row[i] != " ") for i in starts] == [(" ", True)] * len(starts)


def test_a_name_with_control_characters_stays_on_its_row(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    create_key(capsys, "api-key", "create", "--name", "two\nlines\x1b[2J", "--scope", "READ")
    rows = run_cli(capsys, "api-key", "list").splitlines()
    assert len(rows) == 2 and "two\\nlines\\x1b[2J" in rows[1]
