"""Encryption at rest for the Moonraker API keys we store (Fernet, from ``cryptography``).

The Fernet key is derived from the server secret (``GQL_SECRET_KEY`` or the SQLite secret
file) with HKDF-SHA256 and the fixed salt and info below. HKDF suits a secret that is
already random (32+ characters from ``secrets.token_urlsafe``); it does not stretch a
weak password, so the secret must not be one. Changing ``SALT`` or ``INFO`` makes every
stored key unreadable: they are part of the ``v1`` format.

A stored value is ``fernet:v1:<token>``; the prefix tells an encrypted value from a
plaintext one left by a release before encryption (the 0005 migration encrypts those).
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "fernet:v1:"
SALT = b"gql_server secret box v1"
INFO = b"gql_server/printers.moonraker_api_key/fernet"

# The widest stored value: 200 characters of 4-byte UTF-8 are 800 bytes, padded to 816;
# Fernet adds 57 bytes (version, time, IV, HMAC) and base64 makes 1164 characters, plus
# the 10 of the prefix. tests/db/test_secret_box.py checks the bound.
STORED_MAX = 1200


class SecretMismatch(Exception):
    """The stored value does not decrypt with this secret (or is not encrypted at all)."""


class SecretBox:
    """Encrypts and decrypts one kind of value with a key derived from the server secret."""

    def __init__(self, secret: str) -> None:
        self._fernet = Fernet(derive_fernet_key(secret))

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if not is_encrypted(stored):
            raise SecretMismatch("the stored value is not encrypted")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SecretMismatch("the stored value does not decrypt with this secret") from exc


def derive_fernet_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


@lru_cache(maxsize=4)
def _box(secret: str) -> SecretBox:
    return SecretBox(secret)


def secret_box_for(secret: str | None) -> SecretBox | None:
    """The box for a configured secret (built once per secret), None when there is none."""
    return None if secret is None else _box(secret)
