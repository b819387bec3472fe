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
        ({"GQL_PORT": "99999"}, "GQL_PORT"),
        ({"GQL_PORT": "0"}, "GQL_PORT"),
        ({"GQL_HOST": "not..a..host"}, "GQL_HOST"),
        ({"GQL_HOST": "-farm.example"}, "GQL_HOST"),
        ({"GQL_HOST": "farm server"}, "GQL_HOST"),
        ({"GQL_SYNC_INTERVAL": "-1"}, "GQL_SYNC_INTERVAL"),
        ({"GQL_INTROSPECTION": "maybe"}, "GQL_INTROSPECTION"),
        ({"GQL_LOG_FORMAT": "xml"}, "GQL_LOG_FORMAT"),
        ({"GQL_TIMEZONE": "Mars/Olympus_Mons"}, "GQL_TIMEZONE"),
        ({"GQL_TIMEZONE": "../etc/passwd"}, "GQL_TIMEZONE"),
        (
            {"GQL_MOONRAKER_ALLOWED_NETWORKS": "10.0.0.0/8,not-a-net"},
            "GQL_MOONRAKER_ALLOWED_NETWORKS",
        ),
        ({"GQL_TRUSTED_PROXIES": "*"}, "GQL_TRUSTED_PROXIES"),
        ({"GQL_SECRET_KEY": "too-short"}, "GQL_SECRET_KEY"),
        ({"GQL_PREPARE_TIMEOUT": "0"}, "GQL_PREPARE_TIMEOUT"),
        ({"GQL_BODY_TIMEOUT": "-2"}, "GQL_BODY_TIMEOUT"),
        ({"GQL_MAX_CONNECTIONS": "0"}, "GQL_MAX_CONNECTIONS"),
        ({"GQL_SYNC_LEASE": "0"}, "GQL_SYNC_LEASE"),
        ({"GQL_FAST_PATH": "maybe"}, "GQL_FAST_PATH"),
    ],
)
def test_a_bad_value_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)


def test_mysql_urls_are_accepted() -> None:
    url = "mysql+pymysql://farm:secret@db.example:3306/printfarm"
    assert load_settings({"DATABASE_URL": url}).database_url == url


def test_network_lists_are_parsed_as_cidrs() -> None:
    settings = load_settings(
        {
            "GQL_MOONRAKER_ALLOWED_NETWORKS": "127.0.0.0/8, fd00::/8",
            "GQL_TRUSTED_PROXIES": "10.0.0.7",
        }
    )
    assert [str(n) for n in settings.moonraker_allowed_networks] == ["127.0.0.0/8", "fd00::/8"]
    assert settings.trusted_proxies == ("10.0.0.7/32",)


def test_nothing_is_trusted_or_allowed_beyond_the_defaults_unless_set() -> None:
    settings = load_settings({})
    assert settings.moonraker_allowed_networks == ()
    assert settings.trusted_proxies == ()
    assert settings.secret_key is None


def test_a_sync_lease_lasts_thirty_seconds_unless_set() -> None:
    assert (load_settings({}).sync_lease, load_settings({"GQL_SYNC_LEASE": "12"}).sync_lease) == (
        30.0,
        12.0,
    )


@pytest.mark.parametrize(
    ("host", "parsed"),
    [
        ("0.0.0.0", "0.0.0.0"),
        ("::", "::"),
        ("[::1]", "::1"),
        ("localhost", "localhost"),
        ("farm-01.example.com", "farm-01.example.com"),
    ],
)
def test_hostnames_and_ip_literals_are_accepted(host: str, parsed: str) -> None:
    assert load_settings({"GQL_HOST": host}).host == parsed


def test_the_whole_port_range_is_accepted() -> None:
    ports = [load_settings({"GQL_PORT": p}).port for p in ("1", "65535")]
    assert ports == [1, 65535]


def test_the_fast_path_is_on_unless_switched_off() -> None:
    assert load_settings({}).fast_path
    assert not load_settings({"GQL_FAST_PATH": "false"}).fast_path


def test_the_farm_zone_is_utc_unless_set() -> None:
    assert load_settings({}).timezone == "UTC"
    assert load_settings({"GQL_TIMEZONE": "Europe/Berlin"}).timezone == "Europe/Berlin"


def test_the_broker_is_unset_unless_gql_broker_url_names_redis() -> None:
    assert load_settings({}).broker_url is None
    url = "redis://127.0.0.1:6379/0"
    assert load_settings({"GQL_BROKER_URL": url}).broker_url == url


def test_a_broker_url_of_another_scheme_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"GQL_BROKER_URL": "amqp://user:s3cret@mq:5672"})
    assert str(refused.value) == (
        "GQL_BROKER_URL must start with one of redis://, rediss://, unix://, got 'amqp'"
    )
