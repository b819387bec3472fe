"""One rule for ids in queries and mutations: a malformed id, or one of another type, is
INVALID_ID; a well-formed id of no row is NOT_FOUND in a mutation and null (or no match)
in a query."""

from typing import Any

import pytest

from gql_server.db.session import Database
from gql_server.graphql.errors import ApiError
from gql_server.graphql.ids import database_id, to_global_id
from tests.factories import make_printer
from tests.graphql.conftest import GraphQLClient

MALFORMED = "not an id"
NO_ROW = to_global_id("Printer", 999_999)
MUTATIONS = {
    "updatePrinter": """mutation ($id: ID!) {
      updatePrinter(input: {id: $id, location: "moved"}) { userErrors { field code } } }""",
    "deletePrinter": """mutation ($id: ID!) {
      deletePrinter(input: {id: $id}) { userErrors { field code } } }""",
    "revokeApiKey": """mutation ($id: ID!) {
      revokeApiKey(input: {id: $id}) { userErrors { field code } } }""",
    "syncPrinters": """mutation ($id: ID!) {
      syncPrinters(input: {printerIds: [$id]}) { userErrors { field code } } }""",
}
FIELD = {"syncPrinters": "printerIds"}
QUERIES = {
    "node": "query ($id: ID!) { node(id: $id) { id } }",
    "printer": "query ($id: ID!) { printer(id: $id) { id } }",
    "printerIds filter": """query ($id: ID!) {
      printJobs(filter: {printerIds: [$id]}) { nodes { id } } }""",
}


def _of_type(name: str) -> str:
    """A well-formed id of no row, of the type the mutation wants."""
    return to_global_id("ApiKey", 999_999) if name == "revokeApiKey" else NO_ROW


def _of_another_type(name: str, printer_id: str) -> str:
    return to_global_id("ApiKey", 1) if name != "revokeApiKey" else printer_id


def _user_errors(gql: GraphQLClient, name: str, given: str) -> list[dict[str, Any]]:
    return gql.execute(MUTATIONS[name], {"id": given})[name]["userErrors"]  # type: ignore[no-any-return]


def _query_codes(gql: GraphQLClient, query: str, given: str) -> list[str]:
    errors = gql.post(query, {"id": given}).json().get("errors", [])
    return [error["extensions"]["code"] for error in errors]


@pytest.fixture
def printer_id(database: Database, gql: GraphQLClient) -> str:
    with database.scope() as session:
        return to_global_id("Printer", make_printer(session, "voron").id)


def test_a_malformed_id_is_invalid_id_in_every_mutation(gql: GraphQLClient) -> None:
    returned = {name: _user_errors(gql, name, MALFORMED) for name in MUTATIONS}
    assert returned == {
        name: [{"field": ["input", FIELD.get(name, "id")], "code": "INVALID_ID"}]
        for name in MUTATIONS
    }


def test_an_id_of_another_type_is_invalid_id_in_every_mutation(
    gql: GraphQLClient, printer_id: str
) -> None:
    returned = {
        name: _user_errors(gql, name, _of_another_type(name, printer_id)) for name in MUTATIONS
    }
    assert returned == {
        name: [{"field": ["input", FIELD.get(name, "id")], "code": "INVALID_ID"}]
        for name in MUTATIONS
    }


def test_a_well_formed_id_of_no_row_is_not_found_in_mutations(gql: GraphQLClient) -> None:
    names = ("updatePrinter", "deletePrinter", "revokeApiKey")
    returned = {name: _user_errors(gql, name, _of_type(name)) for name in names}
    assert returned == {key: [{"field": ["input", "id"], "code": "NOT_FOUND"}] for key in names}


def test_syncing_a_well_formed_id_of_no_row_fails_that_printer_with_not_found(
    gql: GraphQLClient,
) -> None:
    query = """mutation ($id: ID!) { syncPrinters(input: {printerIds: [$id]}) {
      results { ok error { code } } userErrors { code } } }"""
    payload = gql.execute(query, {"id": NO_ROW})["syncPrinters"]
    assert payload == {"results": [{"ok": False, "error": {"code": "NOT_FOUND"}}], "userErrors": []}


def test_a_malformed_id_is_invalid_id_in_every_query(gql: GraphQLClient) -> None:
    codes = {name: _query_codes(gql, query, MALFORMED) for name, query in QUERIES.items()}
    assert codes == {key: ["INVALID_ID"] for key in QUERIES}


def test_an_id_of_another_type_is_invalid_id_where_a_query_wants_a_printer(
    gql: GraphQLClient,
) -> None:
    another = to_global_id("ApiKey", 1)
    wanting_printers = ("printer", "printerIds filter")
    codes = {name: _query_codes(gql, QUERIES[name], another) for name in wanting_printers}
    assert codes == {key: ["INVALID_ID"] for key in wanting_printers}


def test_a_well_formed_id_of_no_row_is_null_or_no_match_in_queries(gql: GraphQLClient) -> None:
    answers = {name: gql.execute(query, {"id": NO_ROW}) for name, query in QUERIES.items()}
    assert answers == {
        "node": {"node": None},
        "printer": {"printer": None},
        "printerIds filter": {"printJobs": {"nodes": []}},
    }


def test_the_message_names_the_expected_type_in_english() -> None:
    """It read "'UHJpbnRlcjox' is not a ApiKey id"."""
    with pytest.raises(ApiError) as refused:
        database_id(to_global_id("Printer", 1), "ApiKey")
    assert refused.value.message.endswith("is not an ApiKey id")
    with pytest.raises(ApiError) as refused:
        database_id(to_global_id("ApiKey", 1), "Printer")
    assert refused.value.message.endswith("is not a Printer id")
