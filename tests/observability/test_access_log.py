"""Secrets sent in the query string never reach the access log, in either log format.

The server refuses keys in the query string, but uvicorn writes the path of every
request before the app sees it; the redaction sits on our log handler.
"""

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.observability.logs import log_handler, redact_query
from tests.support.live_server import LiveServer

SECRETS = {"api_key": "s3cret-one", "KEY": "s3cret-two", "Token": "s3cret-three"}


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/graphql?api_key=abc", "/graphql?api_key=REDACTED"),
        ("/graphql?query=x&KEY=abc&Token=def", "/graphql?query=x&KEY=REDACTED&Token=REDACTED"),
        ("/graphql?api%5Fkey=abc", "/graphql?api%5Fkey=REDACTED"),
        ("/graphql?keys=abc&monkey=def", "/graphql?keys=abc&monkey=def"),
        (
            "/graphql?x-api-key=a&apikey=b&access_token=c&q=1",
            "/graphql?x-api-key=REDACTED&apikey=REDACTED&access_token=REDACTED&q=1",
        ),
        ("/graphql?api_key%00=a&key[]=b", "/graphql?api_key%00=REDACTED&key[]=REDACTED"),
        ("/healthz;api_key=abc", "/healthz;api_key=REDACTED"),
        ("/healthz", "/healthz"),
    ],
)
def test_only_secret_parameters_are_redacted(path: str, logged: str) -> None:
    assert redact_query(path) == logged


@pytest.fixture(params=["text", "json"])
def access_log(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What our handler writes for uvicorn's access logger."""
    stream = io.StringIO()
    handler = log_handler(request.param, stream)
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_query_string_secrets_are_redacted_from_the_access_log(
    database: Database, access_log: io.StringIO
) -> None:
    app = create_app(Settings(database_url="sqlite://"), database=database)
    options = {"access_log": True, "log_level": "info"}
    with (
        LiveServer(app, name="access-log", config=options) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        status = http.get("/graphql", params={"query": "{ viewer { name } }", **SECRETS})
    written = access_log.getvalue()
    assert status.status_code == 401
    assert written.count("REDACTED") == len(SECRETS)
    assert not [secret for secret in SECRETS.values() if secret in written]
