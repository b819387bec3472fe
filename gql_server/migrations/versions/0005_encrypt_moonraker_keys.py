"""encrypt moonraker keys

Widens printers.moonraker_api_key for Fernet tokens and encrypts the keys stored in plain
text before this revision, with the server secret: GQL_SECRET_KEY, or on SQLite the
secret file beside the database (created here when there are keys to encrypt). With keys
to encrypt and no secret, the upgrade stops before changing anything. The downgrade
decrypts them again (it needs the same secret).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gql_server.config import ConfigError, Settings, load_settings
from gql_server.db.secret_box import SecretBox, SecretMismatch, is_encrypted
from gql_server.db.secret_file import settings_with_secret

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAIN_WIDTH = 200
ENCRYPTED_WIDTH = 1200  # db/secret_box.py STORED_MAX at this revision
MAKE_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'

printers = sa.table(
    "printers",
    sa.column("id", sa.Integer),
    sa.column("moonraker_api_key", sa.String),
)


def upgrade() -> None:
    plaintext = {i: key for i, key in _stored_keys() if not is_encrypted(key)}
    box = _secret_box(create=True) if plaintext else None
    if box is None and plaintext:
        # Before the ALTER: MariaDB commits DDL at once, so nothing would be undone after.
        raise ConfigError(
            f"{len(plaintext)} printer(s) have a Moonraker API key stored in plain text and "
            "there is no secret to encrypt them with: set GQL_SECRET_KEY to a random string "
            f"of at least 32 characters (make one with {MAKE_SECRET}) and migrate again"
        )
    _alter_width(PLAIN_WIDTH, ENCRYPTED_WIDTH)  # a token does not fit the old width
    for printer_id, key in plaintext.items():
        _store(printer_id, box.encrypt(key) if box else key)


def downgrade() -> None:
    encrypted = {i: key for i, key in _stored_keys() if is_encrypted(key)}
    box = _secret_box(create=False) if encrypted else None
    if box is None and encrypted:
        raise ConfigError(
            "the stored Moonraker API keys are encrypted and there is no secret to decrypt "
            "them: set GQL_SECRET_KEY to the secret they were stored with"
        )
    plaintext = {i: _decrypt(box, i, key) for i, key in encrypted.items()} if box else {}
    for printer_id, key in plaintext.items():
        _store(printer_id, key)
    _alter_width(ENCRYPTED_WIDTH, PLAIN_WIDTH)


def _stored_keys() -> list[tuple[int, str]]:
    query = sa.select(printers.c.id, printers.c.moonraker_api_key).where(
        printers.c.moonraker_api_key.is_not(None)
    )
    return [(row.id, row.moonraker_api_key) for row in op.get_bind().execute(query)]


def _secret_box(*, create: bool) -> SecretBox | None:
    url = op.get_bind().engine.url.render_as_string(hide_password=False)
    given = Settings(database_url=url, secret_key=load_settings().secret_key)
    secret = settings_with_secret(given, create=create).secret_key
    return None if secret is None else SecretBox(secret)


def _decrypt(box: SecretBox, printer_id: int, stored: str) -> str:
    try:
        return box.decrypt(stored)
    except SecretMismatch:
        raise ConfigError(
            f"the Moonraker API key of printer id {printer_id} does not decrypt with the "
            "secret: set GQL_SECRET_KEY to the secret it was stored with"
        ) from None


def _store(printer_id: int, value: str) -> None:
    op.get_bind().execute(
        printers.update().where(printers.c.id == printer_id).values(moonraker_api_key=value)
    )


def _alter_width(old: int, new: int) -> None:
    with op.batch_alter_table("printers", schema=None) as batch_op:
        batch_op.alter_column(
            "moonraker_api_key",
            existing_type=sa.String(length=old),
            type_=sa.String(length=new),
            existing_nullable=True,
        )
