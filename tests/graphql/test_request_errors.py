"""Errors of a request as a whole carry a code; one escaping an extension is masked."""

import asyncio
import logging
from collections.abc import Iterator

import pytest
from strawberry.extensions import SchemaExtension

from gql_server.graphql.schema import build_schema

SECRET = "connection string with a password"


class Exploding(SchemaExtension):
    """An extension with a bug: it raises while the query is parsed."""

    def on_parse(self) -> Iterator[None]:
        raise RuntimeError(SECRET)
        yield  # a generator, as Strawberry expects


def test_an_exception_escaping_an_extension_reaches_the_client_masked() -> None:
    result = asyncio.run(build_schema(extra_extensions=[Exploding]).execute("{ __typename }"))
    (error,) = result.errors or []
    assert (error.extensions or {})["code"] == "INTERNAL_SERVER_ERROR" and SECRET not in str(error)


def test_an_exception_escaping_an_extension_is_logged_with_the_id_the_client_sees(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="gql_server.errors"):
        result = asyncio.run(build_schema(extra_extensions=[Exploding]).execute("{ __typename }"))
    (error,) = result.errors or []
    (record,) = [r for r in caplog.records if r.name == "gql_server.errors"]
    assert record.error_id == (error.extensions or {})["errorId"]  # type: ignore[attr-defined]
