"""The secret box: what it stores is prefixed, opaque, and opens only with its secret."""

import pytest

from gql_server.db.secret_box import PREFIX, STORED_MAX, SecretBox, SecretMismatch

SECRET = "a-test-secret-of-more-than-32-characters"
OTHER_SECRET = "another-test-secret-of-32-characters-or-more"
KEY = "5f0e0c6b1d2a4e8f9b3c7d6e1a2b3c4d"


def test_a_sealed_value_opens_to_the_plaintext() -> None:
    box = SecretBox(SECRET)
    assert box.decrypt(box.encrypt(KEY)) == KEY


def test_a_sealed_value_is_prefixed_and_does_not_contain_the_plaintext() -> None:
    sealed = SecretBox(SECRET).encrypt(KEY)
    assert sealed.startswith(PREFIX) and KEY not in sealed


def test_the_same_key_seals_differently_each_time() -> None:
    box = SecretBox(SECRET)
    assert box.encrypt(KEY) != box.encrypt(KEY)


def test_another_secret_cannot_open_it() -> None:
    sealed = SecretBox(SECRET).encrypt(KEY)
    with pytest.raises(SecretMismatch, match="does not decrypt"):
        SecretBox(OTHER_SECRET).decrypt(sealed)


def test_a_plaintext_value_is_not_taken_for_a_sealed_one() -> None:
    with pytest.raises(SecretMismatch, match="not encrypted"):
        SecretBox(SECRET).decrypt(KEY)


def test_the_widest_key_the_api_accepts_fits_the_column() -> None:
    widest = "\U0001f600" * 200  # 200 characters of 4 bytes each
    sealed = SecretBox(SECRET).encrypt(widest)
    assert len(sealed) <= STORED_MAX
