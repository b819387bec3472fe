"""Authentication and authorisation of API keys."""

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from gql_server.db.models import ApiKey
from gql_server.services.api_keys import find_by_key
from gql_server.services.errors import ValidationError

# last_used is bookkeeping, not an audit log: one write per key per minute at most, so
# a dashboard polling every second does not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Scope(enum.Enum):
    READ = "READ"
    WRITE = "WRITE"
    ADMIN = "ADMIN"


def parse_scopes(text: str) -> frozenset[Scope]:
    return frozenset(Scope(name) for name in text.split() if name in Scope.__members__)


def ordered_scopes(scopes: Iterable[Scope]) -> list[Scope]:
    """Each scope once, in the one order every listing uses: Scope's (READ, WRITE, ADMIN)."""
    given = set(scopes)
    return [scope for scope in Scope if scope in given]


def format_scopes(scopes: Iterable[Scope]) -> str:
    names = [scope.value for scope in ordered_scopes(scopes)]
    if not names:
        raise ValidationError("at least one scope is required", field="scopes", code="REQUIRED")
    return " ".join(names)


@dataclass(frozen=True, slots=True)
class AuthenticatedKey:
    id: int
    name: str
    key_prefix: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes


def is_usable(api_key: ApiKey, now: datetime) -> bool:
    return api_key.is_active and (api_key.expires_at is None or api_key.expires_at > now)


def authenticate(session: Session, key: str, now: datetime) -> AuthenticatedKey | None:
    """One SELECT by digest, plus at most one UPDATE of last_used per key per minute.

    The UPDATE re-checks the age in its WHERE clause, so several server processes
    racing on the same key still write once.
    """
    api_key = find_by_key(session, key)
    if api_key is None or not is_usable(api_key, now):
        return None
    stale_before = now - LAST_USED_RESOLUTION
    if api_key.last_used is None or api_key.last_used <= stale_before:
        session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == api_key.id,
                or_(ApiKey.last_used.is_(None), ApiKey.last_used <= stale_before),
            )
            .values(last_used=now)
            .execution_options(synchronize_session=False)
        )
    return AuthenticatedKey(
        id=api_key.id,
        name=api_key.name,
        key_prefix=api_key.key_prefix,
        scopes=parse_scopes(api_key.scopes),
    )
