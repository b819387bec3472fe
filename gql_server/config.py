"""Settings read from the environment once, validated, failing fast by variable name."""

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_DATABASE_URL = "sqlite:///gql_server.db"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    sync_interval: float = 0.0
    sync_concurrency: int = 4
    introspection: bool = True
    graphiql: bool = True
    log_format: str = "text"
    max_depth: int = 8
    max_aliases: int = 15
    max_tokens: int = 1000
    max_nodes: int = 50_000
    max_cost: int = 25_000
    max_body_bytes: int = 64 * 1024
    # Seconds that parsing, validating and measuring one document may take.
    prepare_timeout: float = 2.0
    # Networks a Moonraker URL may point into beyond the default rule (which refuses
    # loopback, link-local, unspecified, multicast and broadcast addresses).
    moonraker_allowed_networks: tuple[IPNetwork, ...] = ()
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed; none by default.
    trusted_proxies: tuple[str, ...] = ()
    # Encrypts stored Moonraker API keys; None on MariaDB means they cannot be stored.
    secret_key: str | None = None
    # Seconds a client may take to send its whole request body (then 408).
    body_timeout: float = 10.0
    # Connections served at once by one process; more get 503.
    max_connections: int = 200
    # Seconds SIGTERM waits for in-flight requests and syncs before cancelling them.
    shutdown_grace: float = 30.0
    # Seconds a sync's lease lasts without a heartbeat: how long a dead holder blocks it.
    sync_lease: float = 30.0
    # Plain fields read directly instead of through graphql-core (graphql/runtime/execution.py).
    fast_path: bool = True
    # The farm's zone: the days the statistics rollups keep besides UTC's (services/rollups).
    timezone: str = "UTC"
    # GQL_LIVE: follow every active printer's Moonraker websocket (services/live). Off for
    # an app built in code (tests, embedding), so that it opens no sockets unless asked;
    # the environment's default is LIVE_FROM_ENVIRONMENT.
    live: bool = False
    # GraphQL subscriptions (web/subscriptions.py): operations one websocket may run at
    # once, seconds a client has to send connection_init, and seconds between the
    # server's pings (a socket that answers none by the next ping is closed).
    max_subscriptions_per_socket: int = 16
    ws_init_timeout: float = 10.0
    ws_keepalive: float = 15.0
    # GQL_BROKER_URL: Redis (redis://, rediss://, unix://) carrying live events between the
    # processes of `serve --workers N`; None: each process's events stay in it.
    broker_url: str | None = None
    # GQL_CURRENCY: the one currency of every price and cost (ISO 4217 code); prices
    # in another are refused, so no sum ever mixes currencies.
    currency: str = "EUR"
    # GQL_SPOOLMAN_URL: a Spoolman server whose spool prices imports snapshot.
    spoolman_url: str | None = None


# `gql-server serve` is live unless GQL_LIVE=false.
LIVE_FROM_ENVIRONMENT = True


# Each default is declared once, above; load_settings and the GraphQL limits read it here.
DEFAULTS = Settings()


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, default).strip()
    if not value:
        raise ConfigError(f"{name} is set but empty")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    return default if raw is None else parse_int(raw, name, minimum=minimum)


def parse_int(raw: str, name: str, *, minimum: int = 0) -> int:
    value = _integer(raw, name)
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _integer(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


PORT_RANGE = (1, 65535)
# RFC 1123 labels: letters, digits and inner hyphens, at most 63 characters each.
HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def parse_port(raw: str, name: str) -> int:
    """A TCP port; uvicorn meets 0 or 99999 only at bind time, with an OverflowError."""
    value = _integer(raw, name)
    low, high = PORT_RANGE
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a port from {low} to {high}, got {value}")
    return value


def parse_host(raw: str, name: str) -> str:
    """An IP literal or a hostname; anything else failed only when uvicorn tried to bind."""
    host = raw.strip()
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(HOST_LABEL.match(label) for label in labels):
        raise ConfigError(
            f"{name} must be a hostname or an IP address such as 127.0.0.1 or 0.0.0.0, got {raw!r}"
        )
    return host


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    return default if raw is None else _seconds(raw, name)


def _seconds(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {value}")
    return value


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if value == 0:
        raise ConfigError(f"{name} must be more than 0 seconds")
    return value


BROKER_SCHEMES = ("redis://", "rediss://", "unix://")


def _broker_url(env: Mapping[str, str]) -> str | None:
    value = env.get("GQL_BROKER_URL", "").strip()
    if not value:
        return None
    if not value.startswith(BROKER_SCHEMES):
        raise ConfigError(
            f"GQL_BROKER_URL must start with one of {', '.join(BROKER_SCHEMES)}, "
            f"got {value.split('://')[0]!r}"
        )
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, default).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _networks(env: Mapping[str, str], name: str) -> tuple[IPNetwork, ...]:
    networks = []
    for part in env.get(name, "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"{name} must be comma-separated CIDRs like 127.0.0.0/8, got {part.strip()!r}"
            ) from None
    return tuple(networks)


def _trusted_proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    """Addresses or CIDRs only: uvicorn's ``*`` (any peer) would let every client
    choose its own address, so it is refused like any other non-CIDR."""
    return tuple(str(network) for network in _networks(env, "GQL_TRUSTED_PROXIES"))


SECRET_KEY_MIN_LENGTH = 32


def _secret_key(env: Mapping[str, str]) -> str | None:
    raw = env.get("GQL_SECRET_KEY")
    if raw is None or not raw.strip():
        return None
    if len(raw.strip()) < SECRET_KEY_MIN_LENGTH:
        raise ConfigError(
            f"GQL_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters; make one with "
            'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return raw.strip()


# The databases and drivers gql_server runs on (gql-server copy checks its URLs too).
DATABASE_SCHEMES = ("sqlite://", "mysql+pymysql://", "mariadb+pymysql://")


def _database_url(env: Mapping[str, str]) -> str:
    url = _text(env, "DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith(DATABASE_SCHEMES):
        raise ConfigError(
            "DATABASE_URL must start with sqlite://, mysql+pymysql:// or mariadb+pymysql://"
            f" (got scheme {url.split(':', 1)[0]!r})"
        )
    return url


def _timezone(env: Mapping[str, str]) -> str:
    name = _text(env, "GQL_TIMEZONE", DEFAULTS.timezone)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            f"GQL_TIMEZONE must be an IANA zone such as Europe/Berlin or UTC, got {name!r}"
        ) from None
    return name


CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def _currency(env: Mapping[str, str]) -> str:
    value = _text(env, "GQL_CURRENCY", DEFAULTS.currency)
    if not CURRENCY_CODE.fullmatch(value):
        raise ConfigError(f"GQL_CURRENCY must be an ISO 4217 code such as EUR, got {value!r}")
    return value


def _spoolman_url(env: Mapping[str, str]) -> str | None:
    value = env.get("GQL_SPOOLMAN_URL", "").strip().rstrip("/")
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"GQL_SPOOLMAN_URL must be an http(s) URL, got {value!r}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every setting at once so a typo fails at start-up, not at first use."""
    env = os.environ if env is None else env
    return Settings(
        database_url=_database_url(env),
        host=parse_host(_text(env, "GQL_HOST", DEFAULTS.host), "GQL_HOST"),
        port=parse_port(env.get("GQL_PORT", str(DEFAULTS.port)), "GQL_PORT"),
        sync_interval=_float(env, "GQL_SYNC_INTERVAL", DEFAULTS.sync_interval),
        sync_concurrency=_int(env, "GQL_SYNC_CONCURRENCY", DEFAULTS.sync_concurrency, minimum=1),
        introspection=_bool(env, "GQL_INTROSPECTION", DEFAULTS.introspection),
        graphiql=_bool(env, "GQL_GRAPHIQL", DEFAULTS.graphiql),
        log_format=_choice(env, "GQL_LOG_FORMAT", DEFAULTS.log_format, ("text", "json")),
        max_depth=_int(env, "GQL_MAX_DEPTH", DEFAULTS.max_depth, minimum=1),
        max_aliases=_int(env, "GQL_MAX_ALIASES", DEFAULTS.max_aliases, minimum=1),
        max_tokens=_int(env, "GQL_MAX_TOKENS", DEFAULTS.max_tokens, minimum=1),
        max_nodes=_int(env, "GQL_MAX_NODES", DEFAULTS.max_nodes, minimum=1),
        max_cost=_int(env, "GQL_MAX_COST", DEFAULTS.max_cost, minimum=1),
        max_body_bytes=_int(env, "GQL_MAX_BODY_BYTES", DEFAULTS.max_body_bytes, minimum=1024),
        prepare_timeout=_positive(env, "GQL_PREPARE_TIMEOUT", DEFAULTS.prepare_timeout),
        moonraker_allowed_networks=_networks(env, "GQL_MOONRAKER_ALLOWED_NETWORKS"),
        trusted_proxies=_trusted_proxies(env),
        secret_key=_secret_key(env),
        body_timeout=_positive(env, "GQL_BODY_TIMEOUT", DEFAULTS.body_timeout),
        max_connections=_int(env, "GQL_MAX_CONNECTIONS", DEFAULTS.max_connections, minimum=1),
        shutdown_grace=_positive(env, "GQL_SHUTDOWN_GRACE", DEFAULTS.shutdown_grace),
        sync_lease=_positive(env, "GQL_SYNC_LEASE", DEFAULTS.sync_lease),
        fast_path=_bool(env, "GQL_FAST_PATH", DEFAULTS.fast_path),
        live=_bool(env, "GQL_LIVE", LIVE_FROM_ENVIRONMENT),
        timezone=_timezone(env),
        max_subscriptions_per_socket=_int(
            env,
            "GQL_MAX_SUBSCRIPTIONS_PER_SOCKET",
            DEFAULTS.max_subscriptions_per_socket,
            minimum=1,
        ),
        ws_init_timeout=_positive(env, "GQL_WS_INIT_TIMEOUT", DEFAULTS.ws_init_timeout),
        ws_keepalive=_positive(env, "GQL_WS_KEEPALIVE", DEFAULTS.ws_keepalive),
        broker_url=_broker_url(env),
        currency=_currency(env),
        spoolman_url=_spoolman_url(env),
    )
