"""API keys: only the digest is stored; malformed keys are rejected without a query."""

import pytest
from sqlalchemy import select

from gql_server.db.models import ApiKey
from gql_server.db.session import Database
from gql_server.services.api_keys import (
    create_api_key,
    find_by_key,
    generate_key,
    hash_key,
    is_well_formed,
)
from tests.support.sql_counter import count_statements


def test_generated_keys_carry_a_valid_checksum() -> None:
    key = generate_key()
    assert key.startswith("gqls_") and is_well_formed(key)


@pytest.mark.parametrize("mangle", [lambda k: k[:-1], lambda k: k[:-1] + "X", lambda k: k + "a"])
def test_a_mistyped_or_truncated_key_fails_the_checksum(mangle) -> None:
    key = generate_key()
    if mangle(key)[-1] == key[-1] and len(mangle(key)) == len(key):
        pytest.skip("mangling happened to keep the key")
    assert not is_well_formed(mangle(key))


def test_only_the_digest_is_stored_and_lookup_finds_it(database: Database) -> None:
    with database.scope() as session:
        created = create_api_key(session, name="dashboard")
    with database.scope() as session:
        stored = session.scalars(select(ApiKey)).one()
        found = find_by_key(session, created.plaintext)
    assert stored.key_hash == hash_key(created.plaintext) != created.plaintext
    assert created.plaintext.startswith(stored.key_prefix)
    assert found is not None and found.id == stored.id


def test_a_key_with_a_bad_checksum_costs_no_query(database: Database) -> None:
    bad = generate_key()[:-2] + "00"
    with database.scope() as session, count_statements(database.engine) as log:
        assert find_by_key(session, bad) is None
    assert log.count == 0
