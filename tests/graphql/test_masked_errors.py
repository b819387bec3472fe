"""An unexpected exception in a mutation is masked like one in a query: a generic message,
INTERNAL_SERVER_ERROR and an error id that the log line carries with the traceback."""

import logging

import pytest

from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from gql_server.services import printers
from tests.factories import make_printer
from tests.graphql.conftest import GraphQLClient

SECRET = "password=hunter2"
DELETE = """mutation ($id: ID!) {
  deletePrinter(input: {id: $id}) { deletedPrinterId userErrors { code } } }"""


def _raise_secret(*args: object, **kwargs: object) -> None:
    raise RuntimeError(SECRET)


@pytest.fixture
def broken_delete(database: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    """A printer's id whose deletion now raises RuntimeError(SECRET)."""
    monkeypatch.setattr(printers, "delete_printer", _raise_secret)
    with database.scope() as session:
        return to_global_id("Printer", make_printer(session, "voron").id)


def test_an_unexpected_error_in_a_mutation_is_masked_with_an_id(
    gql: GraphQLClient, broken_delete: str
) -> None:
    response = gql.post(DELETE, {"id": broken_delete})
    (error,) = response.json()["errors"]
    error_id = error["extensions"]["errorId"]
    assert (error["message"], error["extensions"]["code"]) == (
        f"Internal server error (error id {error_id})",
        "INTERNAL_SERVER_ERROR",
    )
    assert (SECRET in response.text, "Traceback" in response.text) == (False, False)


def test_the_log_line_of_a_masked_mutation_error_has_its_id_and_traceback(
    gql: GraphQLClient, broken_delete: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="gql_server.errors"):
        error_id = gql.post(DELETE, {"id": broken_delete}).json()["errors"][0]["extensions"][
            "errorId"
        ]
    (record,) = [r for r in caplog.records if r.name == "gql_server.errors"]
    assert (record.__dict__["error_id"], error_id in record.getMessage()) == (error_id, True)
    assert f"RuntimeError: {SECRET}" in caplog.text and "Traceback" in caplog.text
