"""Printers: create, read, update, delete, with the validation the API promises."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Address
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gql_server.db.folding import fold
from gql_server.db.models import FOLDED_WIDTHS, Printer
from gql_server.db.secret_box import SecretBox
from gql_server.moonraker.address_rule import (
    ADDRESS_REFUSED,
    ALLOW_SETTING,
    IPNetwork,
    host_refusal,
    parse_address,
)
from gql_server.moonraker.client import parse_base_url
from gql_server.moonraker.errors import MoonrakerError
from gql_server.services.errors import DuplicateError, NotFoundError, ValidationError
from gql_server.services.moonraker_keys import seal_api_key
from gql_server.services.rollups import maintain as rollups

NAME_MAX = 100
LOCATION_MAX = 200
URL_MAX = 500
API_KEY_MAX = 200
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True, kw_only=True)
class PrinterChanges:
    """Fields to change; ``None`` means "leave as is" except where ``clear_*`` says so.
    Keyword-only: four of them in a row are optional strings, which a positional call
    could swap unnoticed."""

    name: str | None = None
    location: str | None = None
    moonraker_url: str | None = None
    moonraker_api_key: str | None = None
    is_active: bool | None = None
    clear_location: bool = False
    clear_moonraker_api_key: bool = False


@dataclass(frozen=True, slots=True)
class PrinterUpdate:
    printer: Printer
    # The stored key was removed: asked for, or the URL moved to another origin.
    moonraker_api_key_cleared: bool


def _check_length(value: str, *, field: str, maximum: int) -> None:
    if len(value) > maximum:
        raise ValidationError(
            f"{field} is {len(value)} characters long; the maximum is {maximum}",
            field=field,
            code="TOO_LONG",
        )


def validate_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError("name must not be empty", field="name", code="REQUIRED")
    _check_length(name, field="name", maximum=NAME_MAX)
    return name


def validate_moonraker_url(url: str, allowed_networks: Iterable[IPNetwork] = ()) -> str:
    """Only absolute http(s) URLs with a host the address rule lets through (private
    networks yes; loopback, link-local, cloud metadata no, unless `allowed_networks`
    holds them): anything else is a typo or a way into the server's own network."""
    url = url.strip()
    _check_length(url, field="moonrakerUrl", maximum=URL_MAX)
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ValidationError(
            "moonrakerUrl must be an http:// or https:// URL with a host",
            field="moonrakerUrl",
            code="INVALID_URL",
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValidationError(
            "moonrakerUrl must not carry credentials, a query or a fragment",
            field="moonrakerUrl",
            code="INVALID_URL",
        )
    _check_address(parts.hostname, allowed_networks)  # as typed…
    try:
        client_host = parse_base_url(url).host
    except MoonrakerError as exc:
        raise ValidationError(exc.message, field="moonrakerUrl", code="INVALID_URL") from None
    if client_host != parts.hostname:
        _check_address(client_host, allowed_networks)  # …and as the client will connect
    return url.rstrip("/")


def _check_address(host: str, allowed_networks: Iterable[IPNetwork]) -> None:
    reason = host_refusal(host, allowed_networks)
    if reason is not None:
        raise ValidationError(
            f"moonrakerUrl points to {reason}, which is refused; an operator can allow "
            f"its network in {ALLOW_SETTING}",
            field="moonrakerUrl",
            code=ADDRESS_REFUSED,
        )
    # Parsers disagree on 0300.0250.1.20 (glibc: 192.168.1.20, httpx: invalid, others:
    # 300.250.1.20), so an allowed address is stored only in the one spelling all read alike.
    address = parse_address(host)
    if isinstance(address, IPv4Address) and str(address) != host:
        raise ValidationError(
            f"moonrakerUrl must write an IPv4 address as four decimal numbers ({address})",
            field="moonrakerUrl",
            code="INVALID_URL",
        )


def same_origin(first: str, second: str) -> bool:
    """Whether two URLs reach the same server: scheme, host and port, compared without
    case, with default ports filled in and addresses in one spelling."""
    origin = _origin(first)
    return origin is not None and origin == _origin(second)


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").removesuffix(".")
        port = parts.port or DEFAULT_PORTS[scheme]
    except (ValueError, KeyError):
        return None
    return scheme, str(parse_address(host) or host), port


def _validate_optional(value: str | None, *, field: str, maximum: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    _check_length(value, field=field, maximum=maximum)
    return value or None


def _folded_name(name: str) -> str:
    return fold(name, FOLDED_WIDTHS["name_folded"])


def _ensure_name_free(session: Session, name: str, *, exclude_id: int | None = None) -> None:
    """Names are the same when their folded forms are (db/folding.py): "VORON" is
    "voron", "STRASSE" is "Straße", "José" is not "Jose", on every database."""
    query = select(Printer.id).where(Printer.name_folded == _folded_name(name))
    if exclude_id is not None:
        query = query.where(Printer.id != exclude_id)
    if session.scalar(query.limit(1)) is not None:
        raise _duplicate_name(name)


def _duplicate_name(name: str) -> DuplicateError:
    return DuplicateError(
        f"a printer named {name!r} already exists", field="name", code="DUPLICATE_NAME"
    )


def _flush_or_duplicate(session: Session, name: str) -> None:
    """The unique index is the real guard; the pre-check only gives a nicer message."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise _duplicate_name(name) from exc


def create_printer(
    session: Session,
    *,
    name: str,
    moonraker_url: str,
    location: str | None = None,
    moonraker_api_key: str | None = None,
    is_active: bool = True,
    secret_box: SecretBox | None = None,
    allowed_networks: Iterable[IPNetwork] = (),
) -> Printer:
    """``secret_box`` encrypts the API key; storing a key without one is refused."""
    printer = Printer(
        name=validate_name(name),
        moonraker_url=validate_moonraker_url(moonraker_url, allowed_networks),
        location=_validate_optional(location, field="location", maximum=LOCATION_MAX),
        moonraker_api_key=seal_api_key(
            _validate_optional(moonraker_api_key, field="moonrakerApiKey", maximum=API_KEY_MAX),
            secret_box,
        ),
        is_active=is_active,
    )
    _ensure_name_free(session, printer.name)
    session.add(printer)
    _flush_or_duplicate(session, printer.name)
    return printer


def get_printer(session: Session, printer_id: int) -> Printer:
    printer = session.get(Printer, printer_id)
    if printer is None:
        raise NotFoundError(f"no printer with id {printer_id}", field="id")
    return printer


def get_printer_by_name(session: Session, name: str) -> Printer:
    """By the same rule as uniqueness: "VORON" finds the printer named "voron"."""
    printer = session.scalar(select(Printer).where(Printer.name_folded == _folded_name(name)))
    if printer is None:
        raise NotFoundError(f"no printer named {name!r}", field="name")
    return printer


def list_printers(session: Session, *, active_only: bool = False) -> Sequence[Printer]:
    query = select(Printer).order_by(Printer.id)
    if active_only:
        query = query.where(Printer.is_active.is_(True))
    return session.scalars(query).all()


def update_printer(
    session: Session,
    printer_id: int,
    changes: PrinterChanges,
    *,
    secret_box: SecretBox | None = None,
    allowed_networks: Iterable[IPNetwork] = (),
) -> PrinterUpdate:
    """Apply `changes`. A URL with another origin drops the stored key unless `changes`
    sets a new one: the key belongs to the old server, and a WRITE key must not be able
    to send it anywhere it likes (the key itself cannot be read back)."""
    printer = get_printer(session, printer_id)
    old_url, had_key = printer.moonraker_url, printer.moonraker_api_key is not None
    if changes.name is not None:
        name = validate_name(changes.name)
        _ensure_name_free(session, name, exclude_id=printer.id)
        printer.name = name
    if changes.moonraker_url is not None:
        printer.moonraker_url = validate_moonraker_url(changes.moonraker_url, allowed_networks)
    if changes.clear_location:
        printer.location = None
    elif changes.location is not None:
        printer.location = _validate_optional(
            changes.location, field="location", maximum=LOCATION_MAX
        )
    if changes.clear_moonraker_api_key:
        printer.moonraker_api_key = None
    elif changes.moonraker_api_key is not None:
        printer.moonraker_api_key = seal_api_key(
            _validate_optional(
                changes.moonraker_api_key, field="moonrakerApiKey", maximum=API_KEY_MAX
            ),
            secret_box,
        )
    moved = changes.moonraker_url is not None and not same_origin(old_url, printer.moonraker_url)
    if moved and changes.moonraker_api_key is None:
        printer.moonraker_api_key = None
    if changes.is_active is not None:
        printer.is_active = changes.is_active
    _flush_or_duplicate(session, printer.name)
    return PrinterUpdate(printer, had_key and printer.moonraker_api_key is None)


def delete_printer(session: Session, printer_id: int) -> None:
    """One DELETE: the database cascades to jobs, details and totals; the farm-wide
    rollups are told first."""
    rollups.remove_printer_jobs(session, printer_id)
    result = session.execute(delete(Printer).where(Printer.id == printer_id))
    if cast(CursorResult[Any], result).rowcount == 0:
        raise NotFoundError(f"no printer with id {printer_id}", field="id")


def mark_seen(session: Session, printer_id: int, now: datetime) -> None:
    session.execute(
        update(Printer)
        .where(Printer.id == printer_id)
        .values(last_seen=now)
        .execution_options(synchronize_session=False)
    )
