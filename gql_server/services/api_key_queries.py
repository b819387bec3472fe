"""Reading API keys: keyset pages, counts and batch lookups for loaders, the CLI listing."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gql_server.db.models import ApiKey
from gql_server.services.pagination import (
    Page,
    PageArgs,
    Position,
    SortKey,
    build_page,
    order_by,
    position_of,
    window,
)

API_KEY_ORDER = [SortKey(ApiKey.created_at), SortKey(ApiKey.id)]


def fetch_api_key_page(session: Session, args: PageArgs) -> Page[ApiKey]:
    query = (
        select(ApiKey)
        .where(*window(API_KEY_ORDER, args))
        .order_by(*order_by(API_KEY_ORDER, reverse=args.backwards))
        .limit(args.size + 1)
    )
    return build_page(session.scalars(query).all(), args)


def api_key_position(api_key: ApiKey) -> Position:
    return position_of(API_KEY_ORDER, api_key)


def count_api_keys(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ApiKey)) or 0


def fetch_api_keys_by_ids(session: Session, ids: list[int]) -> dict[int, ApiKey]:
    return {k.id: k for k in session.scalars(select(ApiKey).where(ApiKey.id.in_(ids)))}


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))
