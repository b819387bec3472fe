"""Accept negotiation between application/json and application/graphql-response+json."""

import pytest

from gql_server.web.media_types import GRAPHQL_RESPONSE_JSON, JSON, response_media_type

NEW = GRAPHQL_RESPONSE_JSON


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("   ", JSON),
        ("application/json", JSON),
        (NEW, NEW),
        # The header the spec recommends to clients, and the same two types reversed:
        # order does not rank media types, q does.
        (f"{NEW}; charset=utf-8, application/json; charset=utf-8", NEW),
        (f"application/json, {NEW}", NEW),
        ("Application/GraphQL-Response+JSON", NEW),
    ],
)
def test_a_named_type_is_used(accept: str | None, expected: str) -> None:
    assert response_media_type(accept) == expected


@pytest.mark.parametrize(
    "accept",
    ["*/*", "application/*", "text/html,application/xhtml+xml,*/*;q=0.8", "*/*;q=0.1"],
)
def test_a_wildcard_means_the_legacy_type(accept: str) -> None:
    assert response_media_type(accept) == JSON


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (f"{NEW};q=0.5, application/json", JSON),
        (f"{NEW}, application/json;q=0.9", NEW),
        (f"{NEW};q=0.9, */*", JSON),
        (f"{NEW}, */*;q=0.9", NEW),
        (f"{NEW};q=0, */*", JSON),
        ("application/json;q=0, */*", NEW),
        (f"{NEW};q=1.0, application/json;q=0.999", NEW),
    ],
)
def test_the_higher_q_wins(accept: str, expected: str) -> None:
    assert response_media_type(accept) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "application/xml, text/plain",
        "application/json;q=0",
        f"{NEW};q=0",
        f"{NEW};q=abc",
        f"{NEW};q=2",
        "nonsense",
        ",,;",
    ],
)
def test_nothing_acceptable_falls_back_to_the_legacy_type(accept: str) -> None:
    """The spec allows ignoring Accept instead of answering 406; clients that never heard
    of the new type keep getting what they got before."""
    assert response_media_type(accept) == JSON
