"""``gql-server watch``: the farm's live state in a terminal, refreshed in place.

A client of a running server (HTTP GraphQL, ``farm_state``), not of the database: it
shows what the server's live mode knows, from any machine that can reach the API.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import httpx

from gql_server.cli.failures import USAGE, fail
from gql_server.cli.farm_state import FarmStateError, PrinterState, fetch_farm
from gql_server.cli.parser import Commands, add_command
from gql_server.config import Settings
from gql_server.text_table import format_table, printable

API_KEY_VARIABLE = "GQL_API_KEY"
MIN_INTERVAL_S = 0.5  # a refresh is a query of every printer: not faster than this
CLEAR = "\x1b[H\x1b[2J"  # cursor home, then erase the screen
# GQL_HOST of a server listening everywhere is not an address to connect to.
UNSPECIFIED_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
HEADER = ("PRINTER", "CONNECTION", "KLIPPY", "STATE", "FILE", "PROGRESS", "LEFT")
HEADER_TAIL = ("EXTRUDER", "BED", "MESSAGE")


def register(commands: Commands) -> None:
    watch = add_command(commands, "watch", "show the farm's live state, refreshed in place")
    watch.add_argument("--printer", help="only this printer (by name, any case)")
    watch.add_argument(
        "--url", help="the server's address (default http://GQL_HOST:GQL_PORT, as serve binds)"
    )
    watch.add_argument(
        "--interval", type=float, default=2.0, help="seconds between refreshes (default 2)"
    )
    watch.add_argument("--once", action="store_true", help="print the table once and exit")
    watch.epilog = f"{watch.epilog}\n  ({API_KEY_VARIABLE}: an API key with the READ scope)"
    watch.set_defaults(handler=run_watch)


def run_watch(settings: Settings, args: argparse.Namespace) -> int:
    api_key = os.environ.get(API_KEY_VARIABLE, "").strip()
    if not api_key:
        return fail(
            f"error: set {API_KEY_VARIABLE} to an API key with the READ scope "
            "(gql-server api-key create --name NAME --scope READ)",
            USAGE,
        )
    if args.interval < MIN_INTERVAL_S:
        return fail(f"error: --interval must be at least {MIN_INTERVAL_S:g} s", USAGE)
    url = args.url or default_url(settings)
    with httpx.Client(trust_env=False) as client:
        return watch_farm(
            lambda: fetch_farm(client, url, api_key),
            url=url,
            printer=args.printer,
            interval=args.interval,
            once=args.once,
            out=sys.stdout,
        )


def default_url(settings: Settings) -> str:
    host = UNSPECIFIED_HOSTS.get(settings.host, settings.host)
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.port}"


def watch_farm(
    fetch: Callable[[], list[PrinterState]],
    *,
    url: str,
    printer: str | None,
    interval: float,
    once: bool,
    out: TextIO,
) -> int:
    """Exit status 2 (one line on stderr) when the first read fails, the key is refused
    or the printer is unknown. Once the table has been shown, an unreachable server is a
    line under it and the next refresh tries again: a server restart ends no watch."""
    screen = Screen(out)
    shown = False
    while True:
        try:
            printers = _chosen(fetch(), printer)
            problem = None
        except FarmStateError as exc:
            if not (shown and exc.retryable):
                return fail(f"error: {exc.message}", USAGE)
            problem = f"{exc.message}; retrying every {interval:g} s"
        except UnknownPrinter as exc:
            return fail(f"error: no printer named {printable(str(exc))!r} on {url}", USAGE)
        if problem is None:
            screen.show(farm_frame(url, printers))
            shown = True
        else:
            screen.show_problem(printable(problem))
        if once:
            return 0
        time.sleep(interval)


class UnknownPrinter(Exception):
    pass


def _chosen(printers: list[PrinterState], name: str | None) -> list[PrinterState]:
    if name is None:
        return printers
    found = [p for p in printers if p.name.casefold() == name.casefold()]
    if not found:
        raise UnknownPrinter(name)
    return found


class Screen:
    """A terminal redraws the frame in place; a pipe or file gets each frame appended,
    separated by a blank line, so a log of the farm stays readable."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.frame = ""

    def show(self, frame: str) -> None:
        prefix = CLEAR if self.tty else ("\n" if self.frame else "")
        self.frame = frame
        self._write(f"{prefix}{frame}\n")

    def show_problem(self, line: str) -> None:
        """On a terminal the last table stays up with the problem under it."""
        self._write(f"{CLEAR}{self.frame}\n{line}\n" if self.tty else f"{line}\n")

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()


def farm_frame(url: str, printers: list[PrinterState]) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    title = f"{url}  {now}  {len(printers)} printer{'s' if len(printers) != 1 else ''}"
    rows = [printer_row(p) for p in printers]
    return f"{printable(title)}\n{format_table((*HEADER, *HEADER_TAIL), rows)}"


def printer_row(printer: PrinterState) -> tuple[str, ...]:
    live = printer.live
    if live is None:  # live mode off, or the printer not followed (inactive)
        return (printer.name, "-", "", "", "", "", "", "", "", "")
    return (
        printer.name,
        str(live.get("connection") or "-"),
        _enum(live.get("klippyState")),
        _enum(live.get("printState")),
        str(live.get("filename") or ""),
        _percent(live.get("progress")),
        _duration(live.get("estimatedTimeLeft")),
        _heater(live.get("extruder")),
        _heater(live.get("bed")),
        str(live.get("message") or ""),
    )


def _enum(value: Any) -> str:
    return "" if value is None else str(value).lower()


def _percent(value: Any) -> str:
    return "" if value is None else f"{float(value) * 100:.0f}%"


def _duration(seconds: Any) -> str:
    if seconds is None:
        return ""
    minutes = round(float(seconds) / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _heater(heater: Any) -> str:
    if not isinstance(heater, dict) or heater.get("temperature") is None:
        return ""
    target = heater.get("target")
    current = f"{float(heater['temperature']):.1f}"
    return current if not target else f"{current}/{float(target):.0f}"
