"""schema.graphql at the repository root is the SDL the code builds."""

from pathlib import Path

from gql_server.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    expected = schema.as_str() + "\n"
    assert SCHEMA_FILE.read_text() == expected, (
        "schema.graphql is stale: regenerate it with `gql-server export-schema > schema.graphql`"
    )
