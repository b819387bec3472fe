"""No subscriptions: the router closes a websocket to /graphql before any of our code
(the auth gate and the request limits serve HTTP only)."""

import asyncio
import shutil
from pathlib import Path

from starlette.types import Message

from gql_server.app import create_app
from gql_server.config import load_settings
from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database

WEBSOCKET = {"type": "websocket", "path": "/graphql", "headers": [], "query_string": b""}


async def _answer(database: Database) -> list[Message]:
    app = create_app(load_settings({}), database=database)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app({**WEBSOCKET, "app": app}, receive, send)
    return sent


def test_a_websocket_to_graphql_is_closed_unanswered(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "ws.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(create_db_engine(f"sqlite:///{path}"))
    try:
        sent = asyncio.run(_answer(database))
    finally:
        database.dispose()
    assert [message["type"] for message in sent] == ["websocket.close"]
