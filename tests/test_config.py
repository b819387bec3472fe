"""Settings fail fast and name the variable at fault."""

import pytest

from gql_server.config import DEFAULT_DATABASE_URL, ConfigError, load_settings


def test_defaults_use_an_embedded_sqlite_file() -> None:
    settings = load_settings({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database_url.startswith("sqlite:///")


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "postgresql://x/y"}, "DATABASE_URL"),
        ({"DATABASE_URL": "  "}, "DATABASE_URL"),
        ({"GQL_PORT": "eighty"}, "GQL_PORT"),
        ({"GQL_SYNC_INTERVAL": "-1"}, "GQL_SYNC_INTERVAL"),
        ({"GQL_INTROSPECTION": "maybe"}, "GQL_INTROSPECTION"),
        ({"GQL_LOG_FORMAT": "xml"}, "GQL_LOG_FORMAT"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)


def test_mysql_urls_are_accepted() -> None:
    url = "mysql+pymysql://farm:secret@db.example:3306/printfarm"
    assert load_settings({"DATABASE_URL": url}).database_url == url
