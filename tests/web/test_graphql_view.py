"""Both response media types over real HTTP: application/graphql-response+json when the
client asks for it (request errors are 4xx without ``data``), application/json exactly as
before otherwise."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.web.graphql_view import request_error_status
from gql_server.web.throttle import FailureThrottle
from tests.graphql.conftest import make_key
from tests.support.live_server import LiveServer

NEW = "application/graphql-response+json"
NEW_CONTENT_TYPE = "application/graphql-response+json; charset=utf-8"
MAX_DEPTH = 3
DEEP_QUERY = "{ printers(first: 1) { nodes { printJobs(first: 1) { nodes { printer { id } } } } } }"


@pytest.fixture
def http(database: Database) -> Iterator[httpx.Client]:
    settings = Settings(database_url="sqlite://", max_depth=MAX_DEPTH, max_body_bytes=4096)
    app = create_app(settings, database=database, throttle=FailureThrottle(limit=1))
    with (
        LiveServer(app, name="graphql-view") as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


@pytest.fixture
def key(database: Database) -> str:
    return make_key(database, "READ", name="reader")


def post(http: httpx.Client, key: str | None, accept: str | None, body: Any) -> httpx.Response:
    headers = {} if key is None else {"X-API-Key": key}
    if accept is not None:
        headers["Accept"] = accept
    return http.post("/graphql", json=body, headers=headers)


def get(http: httpx.Client, key: str, accept: str, query: str) -> httpx.Response:
    headers = {"X-API-Key": key, "Accept": accept}
    return http.get("/graphql", params={"query": query}, headers=headers)


def messages(response: httpx.Response) -> list[str]:
    return [error["message"] for error in response.json()["errors"]]


# A successful operation


def test_the_new_type_is_answered_in_the_new_type(http: httpx.Client, key: str) -> None:
    response = post(http, key, NEW, {"query": "{ __typename }"})
    assert (response.status_code, response.headers["content-type"]) == (200, NEW_CONTENT_TYPE)
    assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize("accept", ["application/json", "*/*", None])
def test_json_wildcards_and_no_accept_get_json(
    http: httpx.Client, key: str, accept: str | None
) -> None:
    response = post(http, key, accept, {"query": "{ __typename }"})
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
    assert response.json()["data"] == {"__typename": "Query"}


def test_a_get_query_is_answered_in_the_new_type(http: httpx.Client, key: str) -> None:
    response = get(http, key, NEW, "{ viewer { name } }")
    assert (response.status_code, response.headers["content-type"]) == (200, NEW_CONTENT_TYPE)
    assert response.json()["data"] == {"viewer": {"name": "reader"}}


# Request errors: 400 without data in the new type, 200 with data null in JSON


def test_a_parse_error_is_a_400_without_data(http: httpx.Client, key: str) -> None:
    response = post(http, key, NEW, {"query": "{"})
    assert (response.status_code, response.headers["content-type"]) == (400, NEW_CONTENT_TYPE)
    assert "data" not in response.json()
    assert messages(response) == ["Syntax Error: Expected Name, found <EOF>."]


def test_a_parse_error_in_json_is_a_200_with_data_null(http: httpx.Client, key: str) -> None:
    response = post(http, key, "application/json", {"query": "{"})
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
    assert response.json()["data"] is None
    assert messages(response) == ["Syntax Error: Expected Name, found <EOF>."]


def test_a_get_parse_error_is_a_400_without_data(http: httpx.Client, key: str) -> None:
    response = get(http, key, NEW, "{")
    assert response.status_code == 400
    assert "data" not in response.json()


def test_a_validation_error_is_a_400_without_data(http: httpx.Client, key: str) -> None:
    response = post(http, key, NEW, {"query": "{ nope }"})
    assert (response.status_code, response.headers["content-type"]) == (400, NEW_CONTENT_TYPE)
    assert "data" not in response.json()
    assert messages(response) == ["Cannot query field 'nope' on type 'Query'. Did you mean 'node'?"]


def test_a_validation_error_in_json_is_a_200_with_data_null(http: httpx.Client, key: str) -> None:
    response = post(http, key, "application/json", {"query": "{ nope }"})
    assert response.status_code == 200
    assert response.json()["data"] is None


def test_a_query_over_a_limit_is_a_400_without_data(http: httpx.Client, key: str) -> None:
    response = post(http, key, NEW, {"query": DEEP_QUERY})
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_DEEP"]


def test_a_query_over_a_limit_in_json_is_a_200_with_data_null(http: httpx.Client, key: str) -> None:
    response = post(http, key, "application/json", {"query": DEEP_QUERY})
    assert response.status_code == 200
    assert response.json()["data"] is None


COERCION = {"query": "query Q($id: ID!) { node(id: $id) { id } }", "variables": {"id": None}}


def test_variables_that_do_not_coerce_are_a_400_without_data(http: httpx.Client, key: str) -> None:
    response = post(http, key, NEW, COERCION)
    assert response.status_code == 400
    assert "data" not in response.json()
    assert messages(response) == [
        "Variable '$id' has invalid value: Expected value of non-null type 'ID!' not to be None."
    ]


def test_variables_that_do_not_coerce_in_json_are_a_200_with_data_null(
    http: httpx.Client, key: str
) -> None:
    response = post(http, key, "application/json", COERCION)
    assert response.status_code == 200
    assert response.json()["data"] is None


UNKNOWN_OPERATION = {"query": "query A { __typename }", "operationName": "B"}


def test_an_unknown_operation_name_is_a_400_without_data(http: httpx.Client, key: str) -> None:
    response = post(http, key, NEW, UNKNOWN_OPERATION)
    assert (response.status_code, response.headers["content-type"]) == (400, NEW_CONTENT_TYPE)
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"]


def test_an_unknown_operation_name_in_json_stays_plain_text(http: httpx.Client, key: str) -> None:
    response = post(http, key, "application/json", UNKNOWN_OPERATION)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")


def test_a_mutation_over_get_is_a_400_without_data(http: httpx.Client, key: str) -> None:
    response = get(http, key, NEW, "mutation { __typename }")
    assert (response.status_code, response.headers["content-type"]) == (400, NEW_CONTENT_TYPE)
    assert response.json() == {
        "errors": [
            {
                "message": "mutations are not allowed when using GET",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }


def test_a_body_that_is_not_json_is_a_400_without_data(http: httpx.Client, key: str) -> None:
    headers = {"X-API-Key": key, "Accept": NEW, "Content-Type": "application/json"}
    response = http.post("/graphql", content=b'{"query": ', headers=headers)
    assert (response.status_code, response.headers["content-type"]) == (400, NEW_CONTENT_TYPE)
    assert response.json() == {
        "errors": [
            {
                "message": "the request body is not valid JSON",
                "extensions": {"code": "INVALID_JSON"},
            }
        ]
    }


def test_a_body_that_is_not_json_in_json_is_a_400_with_data_null(
    http: httpx.Client, key: str
) -> None:
    headers = {"X-API-Key": key, "Accept": "application/json", "Content-Type": "application/json"}
    response = http.post("/graphql", content=b'{"query": ', headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_JSON"


# Execution began: 200 with data, whatever the errors


def test_a_field_error_is_a_200_with_data(http: httpx.Client, key: str) -> None:
    response = post(http, key, NEW, {"query": '{ viewer { name } node(id: "bad") { id } }'})
    assert (response.status_code, response.headers["content-type"]) == (200, NEW_CONTENT_TYPE)
    body = response.json()
    assert body["data"] == {"viewer": {"name": "reader"}, "node": None}
    assert [e["path"] for e in body["errors"]] == [["node"]]


def test_a_non_null_root_field_error_is_a_200_with_data_null(http: httpx.Client, key: str) -> None:
    """The READ key may not list keys; ``apiKeys`` is non-null, so ``data`` is null, but
    execution had begun: the spec's 'partial response', not a request error."""
    response = post(http, key, NEW, {"query": "{ apiKeys { totalCount } }"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


# Refusals before GraphQL: the same status, the new type without data


def test_a_missing_key_is_a_401_without_data(http: httpx.Client) -> None:
    response = post(http, None, NEW, {"query": "{ __typename }"})
    assert (response.status_code, response.headers["content-type"]) == (401, NEW_CONTENT_TYPE)
    assert response.json() == {
        "errors": [
            {
                "message": "missing API key: send it in the X-API-Key header",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }


def test_a_missing_key_in_json_keeps_data_null(http: httpx.Client) -> None:
    response = post(http, None, "application/json", {"query": "{ __typename }"})
    assert (response.status_code, response.headers["content-type"]) == (401, "application/json")
    assert response.json()["data"] is None


def test_a_throttled_address_keeps_its_retry_after(http: httpx.Client) -> None:
    post(http, "gqls_wrong", NEW, {"query": "{ __typename }"})  # the one failure allowed
    response = post(http, "gqls_wrong", NEW, {"query": "{ __typename }"})
    assert (response.status_code, response.headers["content-type"]) == (429, NEW_CONTENT_TYPE)
    assert int(response.headers["retry-after"]) > 0
    assert "data" not in response.json()


def test_a_body_over_the_limit_is_a_413_without_data(http: httpx.Client, key: str) -> None:
    response = post(http, key, NEW, {"query": "{ __typename }", "pad": "x" * 5000})
    assert (response.status_code, response.headers["content-type"]) == (413, NEW_CONTENT_TYPE)
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["PAYLOAD_TOO_LARGE"]
    assert "data" not in response.json()


# Which results count as request errors (no server needed)


def test_a_pre_execution_error_of_ours_is_a_500() -> None:
    error = GraphQLError("boom", original_error=RuntimeError("boom"))
    assert request_error_status(PreExecutionError(data=None, errors=[error])) == 500


def test_a_pre_execution_error_of_the_client_is_a_400() -> None:
    assert request_error_status(PreExecutionError(data=None, errors=[GraphQLError("no")])) == 400


def test_a_result_with_data_is_no_request_error() -> None:
    result = ExecutionResult(data={"a": None}, errors=[GraphQLError("x", path=["a"])])
    assert request_error_status(result) is None
