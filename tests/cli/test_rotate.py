"""``gql-server rotate-secret``: every stored Moonraker key re-encrypted under the new
secret in one transaction; bad input is one line and exit status 2, never a traceback."""

import io
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gql_server.cli import main
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.secret_box import SecretBox
from gql_server.db.session import Database
from tests.factories import make_printer

OLD = "the-old-secret-of-at-least-32-characters"
NEW = "the-new-secret-of-at-least-32-characters"
KEYS = {"voron": "5f0e0c6b1d2a4e8f9b3c7d6e1a2b3c4d", "prusa": "0123456789abcdef0123456789abcdef"}
ROTATE_FROM_ENV = ["rotate-secret", "--new-secret-env", "GQL_NEW_SECRET"]


@pytest.fixture
def env_database(database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The test database named by DATABASE_URL, its keys sealed with GQL_SECRET_KEY=OLD."""
    monkeypatch.setenv("DATABASE_URL", database.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("GQL_SECRET_KEY", OLD)
    add_keyed_printers(database, SecretBox(OLD))
    return database


@pytest.fixture
def file_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """SQLite only (MariaDB has no secret file): the secret in farm.db.secret."""
    monkeypatch.delenv("GQL_SECRET_KEY", raising=False)
    secret_file = tmp_path / "farm.db.secret"
    secret_file.write_text(OLD + "\n")
    secret_file.chmod(0o600)
    url = f"sqlite:///{tmp_path / 'farm.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    database = Database(create_db_engine(url))
    upgrade_to_head(database.engine)
    add_keyed_printers(database, SecretBox(OLD))
    yield database
    database.dispose()


def add_keyed_printers(database: Database, box: SecretBox) -> None:
    with database.scope() as session:
        for name, key in KEYS.items():
            make_printer(session, name, moonraker_api_key=key, secret_box=box)
        make_printer(session, "keyless")


def raw_keys(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        query = text("SELECT moonraker_api_key FROM printers WHERE moonraker_api_key IS NOT NULL")
        return sorted(connection.execute(query).scalars())


def opened_with(database: Database, secret: str) -> set[str]:
    box = SecretBox(secret)
    return {box.decrypt(stored) for stored in raw_keys(database)}


def refusal(capsys: pytest.CaptureFixture[str], argv: list[str], status: int) -> str:
    """The one line a refused rotation prints, after checking its exit status."""
    assert main(argv) == status
    captured = capsys.readouterr()
    assert (captured.out, len(captured.err.splitlines())) == ("", 1), captured.err
    assert "Traceback" not in captured.err
    return captured.err


def test_every_key_is_reencrypted_under_the_new_secret(
    env_database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GQL_NEW_SECRET", NEW)
    assert main(ROTATE_FROM_ENV) == 0
    assert "re-encrypted 2 Moonraker API keys" in capsys.readouterr().out
    assert opened_with(env_database, NEW) == set(KEYS.values())


def test_the_file_is_replaced_by_the_new_secret_with_mode_0600(
    file_database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rotate-secret", "--generate"]) == 0
    secret_file = tmp_path / "farm.db.secret"
    new = secret_file.read_text().strip()
    assert (new != OLD, stat.S_IMODE(secret_file.stat().st_mode)) == (True, 0o600)
    assert opened_with(file_database, new) == set(KEYS.values())
    assert sorted(p.name for p in tmp_path.iterdir() if "secret" in p.name) == ["farm.db.secret"]


def test_the_new_secret_can_come_from_standard_input(
    file_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))
    assert main(["rotate-secret", "--new-secret-stdin"]) == 0
    assert (tmp_path / "farm.db.secret").read_text().strip() == NEW
    assert opened_with(file_database, NEW) == set(KEYS.values())


@pytest.mark.parametrize(
    ("new_secret", "message"),
    [
        (None, "GQL_NEW_SECRET is not set"),
        ("short", "at least 32 characters"),
        (OLD, "is the current one"),
    ],
    ids=["unset", "short", "unchanged"],
)
def test_a_bad_new_secret_is_refused_and_nothing_changes(
    env_database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    new_secret: str | None,
    message: str,
) -> None:
    if new_secret is not None:
        monkeypatch.setenv("GQL_NEW_SECRET", new_secret)
    before = raw_keys(env_database)
    assert message in refusal(capsys, ROTATE_FROM_ENV, 2)
    assert raw_keys(env_database) == before


def test_generate_is_refused_when_the_secret_is_in_the_environment(
    env_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "--new-secret-env" in refusal(capsys, ["rotate-secret", "--generate"], 2)


def test_without_any_secret_there_is_nothing_to_rotate_from(
    env_database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GQL_SECRET_KEY")
    monkeypatch.setenv("GQL_NEW_SECRET", NEW)
    assert "no secret to rotate from" in refusal(capsys, ROTATE_FROM_ENV, 2)


def test_keys_sealed_with_another_secret_stop_the_rotation_unchanged(
    env_database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GQL_SECRET_KEY", "not-the-secret-the-keys-were-stored-with")
    monkeypatch.setenv("GQL_NEW_SECRET", NEW)
    before = raw_keys(env_database)
    assert "does not decrypt" in refusal(capsys, ROTATE_FROM_ENV, 1)
    assert raw_keys(env_database) == before


def test_a_failed_rotation_keeps_the_old_file(
    file_database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "not-the-secret-the-keys-were-stored-with"
    (tmp_path / "farm.db.secret").write_text(wrong + "\n")
    refusal(capsys, ["rotate-secret", "--generate"], 1)
    secret_files = sorted(p.name for p in tmp_path.iterdir() if "secret" in p.name)
    assert (secret_files, (tmp_path / "farm.db.secret").read_text().strip()) == (
        ["farm.db.secret"],
        wrong,
    )


def test_the_secret_is_never_an_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["rotate-secret", NEW])
    assert exited.value.code == 2
