"""API keys: generation, storage of the digest only, lookup by digest, revocation.

Pages and batch lookups for the API are in ``api_key_queries``."""

import hashlib
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from gql_server.db.models import ApiKey
from gql_server.db.types import utcnow
from gql_server.services.errors import NotFoundError, ValidationError

# GitHub's token format is the model: a fixed type prefix that secret scanners can
# match, a base62 secret, and a CRC32 checksum that rejects typos without a lookup.
KEY_TYPE_PREFIX = "gqls_"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SECRET_LENGTH = 43  # 62**43 > 2**256
CHECKSUM_LENGTH = 6  # 62**6 > 2**32
DISPLAY_SECRET_CHARS = 8
KEY_LENGTH = len(KEY_TYPE_PREFIX) + SECRET_LENGTH + CHECKSUM_LENGTH
NAME_MAX = 100


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits))


def _checksum(secret: str) -> str:
    return _base62(zlib.crc32(secret.encode("ascii")), CHECKSUM_LENGTH)


def generate_key() -> str:
    secret = "".join(secrets.choice(BASE62) for _ in range(SECRET_LENGTH))
    return f"{KEY_TYPE_PREFIX}{secret}{_checksum(secret)}"


def is_well_formed(key: str) -> bool:
    """Shape and checksum only: a mistyped or truncated key never reaches the database."""
    if len(key) != KEY_LENGTH or not key.startswith(KEY_TYPE_PREFIX):
        return False
    body = key[len(KEY_TYPE_PREFIX) :]
    if any(char not in BASE62 for char in body):
        return False
    secret, checksum = body[:SECRET_LENGTH], body[SECRET_LENGTH:]
    return secrets.compare_digest(_checksum(secret), checksum)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    return key[: len(KEY_TYPE_PREFIX) + DISPLAY_SECRET_CHARS]


@dataclass(frozen=True, slots=True)
class CreatedKey:
    api_key: ApiKey
    plaintext: str


def create_api_key(
    session: Session,
    *,
    name: str,
    scopes: str = "READ",
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> CreatedKey:
    """``scopes`` is the stored form (see ``auth.format_scopes``)."""
    name = name.strip()
    if not name:
        raise ValidationError("name must not be empty", field="name", code="REQUIRED")
    if len(name) > NAME_MAX:
        raise ValidationError(
            f"name is longer than {NAME_MAX} characters", field="name", code="TOO_LONG"
        )
    if expires_at is not None and expires_at <= (now or utcnow()):
        raise ValidationError(
            "expiresAt must be in the future", field="expiresAt", code="INVALID_EXPIRY"
        )
    plaintext = generate_key()
    api_key = ApiKey(
        key_hash=hash_key(plaintext),
        key_prefix=display_prefix(plaintext),
        name=name,
        scopes=scopes,
        expires_at=expires_at,
    )
    session.add(api_key)
    session.flush()
    return CreatedKey(api_key=api_key, plaintext=plaintext)


def find_by_key(session: Session, key: str) -> ApiKey | None:
    """Look a key up by its digest; a malformed key costs no query.

    The digest is the index key, so the database compares digests, not secrets: an
    attacker timing the lookup learns about SHA-256 outputs, not about the key.
    """
    if not is_well_formed(key):
        return None
    digest = hash_key(key)
    api_key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if api_key is None or not secrets.compare_digest(api_key.key_hash, digest):
        return None
    return api_key


def revoke_api_key(session: Session, key_id: int) -> ApiKey:
    """Deactivate, never delete: the row keeps the key's history (name, last use)."""
    api_key = session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFoundError(f"no API key with id {key_id}", field="id")
    api_key.is_active = False
    session.flush()
    return api_key


def find_by_prefix_or_name(session: Session, text: str) -> ApiKey:
    """For the CLI: the displayed prefix or the name identifies a key."""
    query = select(ApiKey).where((ApiKey.key_prefix == text) | (ApiKey.name == text))
    matches = session.scalars(query.limit(2)).all()
    if not matches:
        raise NotFoundError(f"no API key with prefix or name {text!r}", field="key")
    if len(matches) > 1:
        raise ValidationError(
            f"{text!r} names several keys; use the prefix", field="key", code="AMBIGUOUS"
        )
    return matches[0]


def has_usable_key(session: Session, now: datetime) -> bool:
    usable = (ApiKey.is_active.is_(True)) & (
        ApiKey.expires_at.is_(None) | (ApiKey.expires_at > now)
    )
    return bool(session.scalar(select(exists().where(usable))))
