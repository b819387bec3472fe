"""Migration 0005: plaintext Moonraker keys of earlier releases are encrypted on upgrade
and decrypted on downgrade; with keys and no secret it stops before changing anything."""

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from gql_server.config import ConfigError
from gql_server.db.secret_box import SecretBox
from tests.db.conftest import AtRevision, database_at, migrate

SECRET = "the-operators-secret-of-at-least-32-characters"
KEY = "5f0e0c6b1d2a4e8f9b3c7d6e1a2b3c4d"
BEFORE = "0004"
AFTER = "0005"  # not "head": later revisions have downgrades of their own


@pytest.fixture
def legacy_engine(at_revision: AtRevision, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A database at 0004 holding a printer with a plaintext key and one without a key."""
    monkeypatch.delenv("GQL_SECRET_KEY", raising=False)
    engine = at_revision(BEFORE)
    add_legacy_printers(engine)
    return engine


@pytest.fixture(
    params=["sqlite-memory", pytest.param("mariadb", marks=pytest.mark.mariadb)],
)
def secretless_engine(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """Like ``legacy_engine`` where no secret can be found: no file beside the database."""
    monkeypatch.delenv("GQL_SECRET_KEY", raising=False)
    with database_at(request.param, tmp_path, BEFORE) as engine:
        add_legacy_printers(engine)
        yield engine


def add_legacy_printers(engine: Engine) -> None:
    insert = text(
        "INSERT INTO printers (name, moonraker_url, moonraker_api_key, is_active, created_at,"
        " updated_at) VALUES (:name, 'http://p.local', :key, 1, :now, :now)"
    )
    with engine.begin() as connection:
        for name, key in (("keyed", KEY), ("keyless", None)):
            connection.execute(insert, {"name": name, "key": key, "now": "2026-01-01 00:00:00"})


def raw_keys(engine: Engine) -> list[str | None]:
    with engine.connect() as connection:
        query = text("SELECT moonraker_api_key FROM printers ORDER BY id")
        return list(connection.execute(query).scalars())


def key_width(engine: Engine) -> int:
    (column,) = [c for c in inspect(engine).get_columns("printers") if c["name"].endswith("key")]
    return int(column["type"].length)


def revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_upgrade_encrypts_plaintext_keys_with_gql_secret_key(
    legacy_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GQL_SECRET_KEY", SECRET)
    migrate(legacy_engine, "upgrade", AFTER)
    keyed, keyless = raw_keys(legacy_engine)
    assert (keyed is not None and KEY not in keyed, keyless) == (True, None)
    assert SecretBox(SECRET).decrypt(keyed or "") == KEY


def test_upgrade_widens_the_column_for_the_tokens(
    legacy_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GQL_SECRET_KEY", SECRET)
    migrate(legacy_engine, "upgrade", AFTER)
    assert key_width(legacy_engine) == 1200


def test_downgrade_decrypts_the_keys_again(
    legacy_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GQL_SECRET_KEY", SECRET)
    migrate(legacy_engine, "upgrade", AFTER)
    migrate(legacy_engine, "downgrade", BEFORE)
    assert (raw_keys(legacy_engine), key_width(legacy_engine)) == ([KEY, None], 200)


def test_downgrade_with_another_secret_fails_and_keeps_the_keys(
    legacy_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GQL_SECRET_KEY", SECRET)
    migrate(legacy_engine, "upgrade", AFTER)
    encrypted = raw_keys(legacy_engine)
    monkeypatch.setenv("GQL_SECRET_KEY", "x" * 40)
    with pytest.raises(ConfigError, match="does not decrypt"):
        migrate(legacy_engine, "downgrade", BEFORE)
    assert (raw_keys(legacy_engine), revision(legacy_engine)) == (encrypted, AFTER)


def test_on_sqlite_without_a_secret_the_upgrade_creates_the_file(
    sqlite_at_revision: AtRevision, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite only: MariaDB has no file beside it (see the test after this one)."""
    monkeypatch.delenv("GQL_SECRET_KEY", raising=False)
    engine = sqlite_at_revision(BEFORE)
    add_legacy_printers(engine)
    migrate(engine, "upgrade", "head")
    secret_file = Path(f"{engine.url.database}.secret")
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    box = SecretBox(secret_file.read_text().strip())
    assert box.decrypt(raw_keys(engine)[0] or "") == KEY


def test_without_a_secret_the_upgrade_stops_before_changing_anything(
    secretless_engine: Engine,
) -> None:
    with pytest.raises(ConfigError, match="GQL_SECRET_KEY") as caught:
        migrate(secretless_engine, "upgrade", "head")
    assert "secrets.token_urlsafe(32)" in str(caught.value)
    assert (raw_keys(secretless_engine), key_width(secretless_engine)) == ([KEY, None], 200)
    assert revision(secretless_engine) == BEFORE
