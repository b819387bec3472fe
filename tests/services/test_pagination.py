"""Cursor positions checked by the service itself, whoever decoded them."""

from datetime import datetime

from gql_server.db.models import PrintJob
from gql_server.services.pagination import is_valid_position, keyset_keys

KEYS = keyset_keys(PrintJob.end_time, PrintJob.id, descending=False, nullable=True)


def test_a_position_with_a_value_for_each_key_is_valid() -> None:
    assert is_valid_position(KEYS, (datetime(2026, 2, 1), 7))


def test_a_position_with_a_value_missing_or_extra_is_invalid() -> None:
    assert (is_valid_position(KEYS, (7,)), is_valid_position(KEYS, (None, 7, 8))) == (False, False)
