"""Moonraker API keys at rest: sealed with the server secret on write, opened for a sync,
re-sealed under a new secret by ``gql-server rotate-secret``."""

from dataclasses import dataclass
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gql_server.db.models import Printer
from gql_server.db.secret_box import SecretBox, SecretMismatch
from gql_server.services.errors import ServiceError

SECRET_KEY_REQUIRED = "SECRET_KEY_REQUIRED"
SECRET_KEY_MISMATCH = "SECRET_KEY_MISMATCH"
MAKE_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
# What SECRET_KEY_REQUIRED tells whoever stores or reads a key without a server secret.
NO_SECRET_TO_SEAL = (
    "storing a Moonraker API key needs a server secret to encrypt it: set "
    "GQL_SECRET_KEY to a random string of at least 32 characters (make one with "
    f"{MAKE_SECRET}) and restart the server"
)
NO_SECRET_TO_OPEN = (
    "this printer's Moonraker API key is stored encrypted and the server has no "
    "secret to read it: set GQL_SECRET_KEY to the secret it was stored with"
)


class SecretKeyError(ServiceError):
    """No server secret, or not the one the key was stored with; ``code`` says which."""


def _required_box(box: SecretBox | None, why: str, *, field: str | None = None) -> SecretBox:
    """``box``; without one, the SECRET_KEY_REQUIRED error that says ``why`` a secret is
    needed."""
    if box is None:
        raise SecretKeyError(why, field=field, code=SECRET_KEY_REQUIRED)
    return box


def seal_api_key(plaintext: str | None, box: SecretBox | None) -> str | None:
    """The value to store for ``plaintext``; refused when there is no secret to seal with."""
    if plaintext is None:
        return None
    return _required_box(box, NO_SECRET_TO_SEAL, field="moonrakerApiKey").encrypt(plaintext)


def open_api_key(stored: str | None, box: SecretBox | None) -> str | None:
    """The plaintext key to send to Moonraker; a typed error when it cannot be read."""
    if stored is None:
        return None
    box = _required_box(box, NO_SECRET_TO_OPEN)
    try:
        return box.decrypt(stored)
    except SecretMismatch:
        raise SecretKeyError(
            "this printer's Moonraker API key does not decrypt with the server secret "
            "(GQL_SECRET_KEY or the SQLite secret file changed?); set the key again with "
            "updatePrinter or restore the secret it was stored with",
            code=SECRET_KEY_MISMATCH,
        ) from None


@dataclass(frozen=True, slots=True)
class Rotation:
    keys_reencrypted: int


def rotate_api_keys(session: Session, *, old: SecretBox, new: SecretBox) -> Rotation:
    """Re-seal every stored key under ``new``, then read each back with ``new`` before the
    caller commits: a key that would not open afterwards fails the whole rotation."""
    rows = session.execute(
        select(Printer.id, Printer.name, Printer.moonraker_api_key)
        .where(Printer.moonraker_api_key.is_not(None))
        .order_by(Printer.id)
        .with_for_update()
    ).all()
    plaintexts: dict[int, str] = {}
    for printer_id, name, stored in rows:
        try:
            # The query keeps only the printers that have a stored key.
            plaintexts[printer_id] = old.decrypt(cast(str, stored))
        except SecretMismatch:
            raise SecretKeyError(
                f"the Moonraker API key of printer {name!r} does not decrypt with the current "
                "secret; nothing was changed",
                code=SECRET_KEY_MISMATCH,
            ) from None
    for printer_id, plaintext in plaintexts.items():
        session.execute(
            update(Printer)
            .where(Printer.id == printer_id)
            .values(moonraker_api_key=new.encrypt(plaintext))
            .execution_options(synchronize_session=False)
        )
    _verify(session, new, plaintexts)
    return Rotation(keys_reencrypted=len(plaintexts))


def _verify(session: Session, box: SecretBox, expected: dict[int, str]) -> None:
    """Every stored key, not only those re-sealed: a key a running server wrote meanwhile
    (with the old secret) fails the rotation instead of staying unreadable."""
    stored = session.execute(
        select(Printer.id, Printer.moonraker_api_key).where(Printer.moonraker_api_key.is_not(None))
    ).all()
    try:
        readable = {printer_id: box.decrypt(cast(str, value)) for printer_id, value in stored}
    except SecretMismatch:
        readable = None
    if readable != expected:
        raise SecretKeyError(
            "the stored keys did not all read back with the new secret (was a key written "
            "during the rotation?); nothing was changed, run it again",
            code=SECRET_KEY_MISMATCH,
        )
