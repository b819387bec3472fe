"""One range of page sizes, one check, one code: a root connection, a nested one and the
service's PageArgs refuse first: 0, first: 101 and last: 0 with the same error."""

from typing import Any

import pytest

from gql_server.db.session import Database
from gql_server.services.pagination import PageArgs, PageArgumentError
from tests.factories import make_printer
from tests.graphql.conftest import GraphQLClient

REFUSED = {"first: 0": {"first": 0}, "first: 101": {"first": 101}, "last: 0": {"last": 0}}
PATHS = {
    "printJobs": "{{ printJobs({}) {{ totalCount }} }}",
    "printers": "{{ printers({}) {{ totalCount }} }}",
    "apiKeys": "{{ apiKeys({}) {{ totalCount }} }}",
    "Printer.printJobs": "{{ printers {{ nodes {{ printJobs({}) {{ totalCount }} }} }} }}",
}


def _refusal(gql: GraphQLClient, template: str, argument: str) -> tuple[Any, ...]:
    (error,) = gql.post(template.format(argument)).json()["errors"]
    return error["message"], error["extensions"]


def _service_refusal(arguments: dict[str, int]) -> tuple[Any, ...]:
    with pytest.raises(PageArgumentError) as refused:
        PageArgs(**arguments)
    error = refused.value
    return error.message, {"code": error.code, "field": error.field}


def test_every_path_refuses_a_page_size_out_of_range_alike(
    gql: GraphQLClient, database: Database
) -> None:
    with database.scope() as session:
        make_printer(session, "voron")  # so the nested connection is resolved
    answers = {
        (path, argument): _refusal(gql, template, argument)
        for path, template in PATHS.items()
        for argument in REFUSED
    }
    assert answers == {
        (path, argument): _service_refusal(arguments)
        for path in PATHS
        for argument, arguments in REFUSED.items()
    }


def test_the_refusal_names_the_range_and_the_code_is_bad_page_size() -> None:
    assert _service_refusal({"first": 0}) == (
        "first must be between 1 and 100, got 0",
        {"code": "BAD_PAGE_SIZE", "field": "first"},
    )
