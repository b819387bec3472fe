"""GQL_CURRENCY and GQL_SPOOLMAN_URL: read once, refused by name when malformed."""

import pytest

from gql_server.config import ConfigError, load_settings


def test_the_farm_currency_defaults_to_euro_and_spoolman_to_none() -> None:
    settings = load_settings({})
    assert (settings.currency, settings.spoolman_url) == ("EUR", None)


def test_the_spoolman_url_loses_its_trailing_slash() -> None:
    settings = load_settings(
        {"GQL_SPOOLMAN_URL": "http://spoolman.lan:7912/", "GQL_CURRENCY": "USD"}
    )
    assert (settings.currency, settings.spoolman_url) == ("USD", "http://spoolman.lan:7912")


@pytest.mark.parametrize(
    ("name", "value"),
    [("GQL_CURRENCY", "eur"), ("GQL_CURRENCY", "EURO"), ("GQL_SPOOLMAN_URL", "spoolman:7912")],
)
def test_a_malformed_cost_setting_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})
