"""schema.graphql at the repository root is the SDL the code builds."""

from pathlib import Path

from gql_server.moonraker.errors import ERROR_CODES
from gql_server.schema import schema
from gql_server.services.moonraker_keys import SECRET_KEY_REQUIRED
from gql_server.services.sync.results import (
    ALREADY_RUNNING,
    CANCELLED,
    INTERNAL,
    LEASE_LOST,
    NOT_FOUND,
    SHUTTING_DOWN,
)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    expected = schema.as_str() + "\n"
    assert SCHEMA_FILE.read_text() == expected, (
        "schema.graphql is stale: regenerate it with `gql-server export-schema > schema.graphql`"
    )


def test_sync_error_lists_every_code_a_sync_can_end_with() -> None:
    """Clients branch on these codes; INVALID_URL and SECRET_KEY_REQUIRED were missing."""
    codes = {
        *ERROR_CODES,
        SECRET_KEY_REQUIRED,
        *(ALREADY_RUNNING, NOT_FOUND, INTERNAL, SHUTTING_DOWN, CANCELLED, LEASE_LOST),
        *("STORAGE_ERROR",),
    }
    sync_error = schema.get_type_by_name("SyncError")
    description = next(f.description for f in sync_error.fields if f.name == "code")  # type: ignore[union-attr]
    assert {code for code in codes if code not in (description or "")} == set()
