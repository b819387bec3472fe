"""``gql-server sync``: a progress line per printer, then a summary table."""

import argparse
import signal
import sys
import threading
from typing import TextIO

import anyio
from sqlalchemy.exc import SQLAlchemyError

from gql_server.cli.failures import FAILED, USAGE, fail
from gql_server.cli.parser import Commands, add_command
from gql_server.config import Settings
from gql_server.db.faults import describe
from gql_server.db.opening import opened_database
from gql_server.db.secret_file import settings_with_secret
from gql_server.db.session import Database
from gql_server.services.errors import NotFoundError
from gql_server.services.printers import get_printer_by_name, list_printers
from gql_server.services.sync import ImportCounts, Syncer, SyncResult, syncer_from_settings
from gql_server.text_table import format_table, printable

BAR_WIDTH = 20


def register(commands: Commands) -> None:
    sync = add_command(commands, "sync", "import job history from the printers now")
    sync.add_argument("--printer", action="append", help="printer name (repeatable; default all)")
    sync.add_argument("--full", action="store_true", help="re-read the whole history")
    sync.set_defaults(handler=run_sync)


def run_sync(settings: Settings, args: argparse.Namespace) -> int:
    with opened_database(settings.database_url) as database:  # before the secret file
        return run_sync_command(
            settings_with_secret(settings), database, printer_names=args.printer, full=args.full
        )


class ProgressBoard:
    """One line per printer, redrawn in place on a terminal; Moonraker never says how
    long a history is, so the bar moves with each page rather than filling up."""

    def __init__(self, names: dict[int, str], stream: TextIO) -> None:
        self.names = {printer_id: printable(name) for printer_id, name in names.items()}
        self.stream = stream
        self.lines = {printer_id: f"{name}: waiting" for printer_id, name in self.names.items()}
        self.bars = {printer_id: "." * BAR_WIDTH for printer_id in names}
        self.live = stream.isatty()
        self.width = max((len(name) for name in self.names.values()), default=0)
        if self.live:
            self._draw(first=True)

    def update(self, printer_id: int, counts: ImportCounts) -> None:
        filled = counts.pages % (BAR_WIDTH + 1)
        bar = self.bars[printer_id] = "#" * filled + "." * (BAR_WIDTH - filled)
        name = self.names[printer_id].ljust(self.width)
        self.lines[printer_id] = (
            f"{name} [{bar}] {counts.jobs_seen} jobs read, {counts.jobs_created} new, "
            f"page {counts.pages}"
        )
        if self.live:
            self._draw()

    def finish(self, result: SyncResult) -> None:
        name = self.names[result.printer_id].ljust(self.width)
        # A failed printer keeps the bar where it stopped: a full one read as "all done".
        bar = "#" * BAR_WIDTH if result.ok else self.bars[result.printer_id]
        outcome = "done" if result.ok else f"FAILED ({result.error_code})"
        self.lines[result.printer_id] = f"{name} [{bar}] {outcome}"
        if self.live:
            self._draw()
        else:
            print(self.lines[result.printer_id], file=self.stream, flush=True)

    def _draw(self, *, first: bool = False) -> None:
        if not first:
            self.stream.write(f"\x1b[{len(self.lines)}F")  # back to the first line
        for line in self.lines.values():
            self.stream.write(f"\x1b[2K{line}\n")
        self.stream.flush()


def summary_table(results: list[SyncResult]) -> str:
    header = ("PRINTER", "STATUS", "SEEN", "NEW", "UPDATED", "DETAILS", "SECONDS", "ERROR")
    rows = [
        (
            r.printer_name or str(r.printer_id),
            "ok" if r.ok else "failed",
            str(r.counts.jobs_seen),
            str(r.counts.jobs_created),
            str(r.counts.jobs_updated),
            str(r.counts.details_extracted),
            f"{r.duration_seconds:.1f}",
            "" if r.ok else f"{r.error_code}: {r.error_message}",
        )
        for r in results
    ]
    return format_table(header, rows)


def _printers(database: Database, names: list[str] | None) -> dict[int, str]:
    with database.scope() as session:
        if names is None:
            return {p.id: p.name for p in list_printers(session, active_only=True)}
        found = (get_printer_by_name(session, name) for name in names)
        return {printer.id: printer.name for printer in found}  # "VORON" finds "voron"


def run_sync_command(
    settings: Settings,
    database: Database,
    *,
    printer_names: list[str] | None,
    full: bool,
    out: TextIO | None = None,
) -> int:
    """Exit status 0 when every printer synced, 1 when one failed or the database could
    not be read, 2 for an unknown name. Never a traceback: a printer's fault is its row
    of the table, anything else one line on stderr."""
    out = out if out is not None else sys.stdout  # looked up now: it may be redirected
    try:
        printers = _printers(database, printer_names)
    except NotFoundError as exc:
        return fail(f"error: {exc.message}", USAGE)
    except SQLAlchemyError as exc:
        return fail(f"error: cannot read the printers: {describe(exc)}", FAILED)
    if not printers:
        print("no active printers to sync", file=out)
        return 0
    results = _sync(settings, database, printers, full, ProgressBoard(printers, out))
    print(file=out)
    print(summary_table(results), file=out)
    return 0 if all(result.ok for result in results) else FAILED


def _sync(
    settings: Settings,
    database: Database,
    printers: dict[int, str],
    full: bool,
    board: ProgressBoard,
) -> list[SyncResult]:
    syncer = syncer_from_settings(database, settings)

    async def run() -> list[SyncResult]:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_cancel_on_signal, syncer)
            results = await syncer.sync_printers(list(printers), full=full, progress=board.update)
            tasks.cancel_scope.cancel()
        for result in results:
            board.finish(result)
        return results

    return anyio.run(run)


async def _cancel_on_signal(syncer: Syncer) -> None:
    """Ctrl-C or SIGTERM stops the syncs at once, each with SHUTTING_DOWN, its run
    ``cancelled`` and its lease released; the table still shows what was done."""
    if threading.current_thread() is not threading.main_thread():
        return  # signals reach the main thread only (tests call this from others)
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            syncer.cancel_running()
