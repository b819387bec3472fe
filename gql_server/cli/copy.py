"""``gql-server copy --from URL --to URL``: move a farm's database, or back it up."""

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from gql_server.cli.failures import FAILED, USAGE, fail
from gql_server.cli.parser import Commands, add_command
from gql_server.config import DATABASE_SCHEMES, ConfigError, Settings
from gql_server.db.opening import database_label, opened_database, sqlite_file
from gql_server.db.secret_file import SUFFIX
from gql_server.db.session import Database
from gql_server.services.database_copy.copying import (
    DEFAULT_BATCH_SIZE,
    CopyReport,
    copy_database,
)
from gql_server.services.database_copy.errors import SOURCE_MISSING, CopyRefused
from gql_server.services.database_copy.preflight import check_source, refuse_same_database
from gql_server.text_table import format_table

DESCRIPTION = """\
Copy every table of a gql_server database into another, in batches, parents before
children: SQLite to MariaDB to move a farm that outgrew SQLite, MariaDB (or SQLite) to
SQLite for a backup. Stop `gql-server serve` and `sync` on the source first: a row
written during the copy may be missed, and the check at the end then fails.

The target is migrated first when it is empty (an SQLite file is created); the source
must be at this release's newest revision, and a migrated target at the same one. A
target holding rows is refused unless --force, which empties every table of the
target, then copies.

Safe to interrupt: each batch is committed with the position it reached, in a
gql_copy_progress table of the target. Running the same command again resumes there,
without --force (--force starts over). At the end every table's row count and
checksum are compared on both sides (table printed on stdout; exit status 1 if any
differs) and the progress table is dropped.

Stored Moonraker API keys are copied encrypted: the target's server needs the source's
secret (GQL_SECRET_KEY, or the SQLite source's <file>.secret)."""


def register(commands: Commands) -> None:
    copy = add_command(commands, "copy", "copy a database into another (move or back up)")
    copy.description = DESCRIPTION
    _add_database(copy, "--from", "source", "read, e.g. sqlite:////var/lib/gql_server/farm.db")
    _add_database(copy, "--to", "target", "write, e.g. mysql+pymysql://farm:pw@db/farm")
    copy.add_argument(
        "--force",
        action="store_true",
        help="empty every table of a target that holds rows, then copy",
    )
    copy.add_argument(
        "--batch-size",
        type=batch_size,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"rows per batch and commit (default {DEFAULT_BATCH_SIZE})",
    )
    copy.set_defaults(handler=run_copy)


def _add_database(parser: argparse.ArgumentParser, flag: str, dest: str, use: str) -> None:
    parser.add_argument(
        flag,
        dest=dest,
        required=True,
        type=database_url,
        metavar="URL",
        help=f"the database to {use}",
    )


def database_url(text: str) -> str:
    if not text.startswith(DATABASE_SCHEMES):
        schemes = ", ".join(DATABASE_SCHEMES)
        raise argparse.ArgumentTypeError(f"a database URL starts with one of {schemes}")
    return text


def batch_size(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 100000")
    return int(text)


def run_copy(_settings: Settings, args: argparse.Namespace, err: TextIO | None = None) -> int:
    err = err if err is not None else sys.stderr
    source_label, target_label = database_label(args.source), database_label(args.target)

    def progress(table: str, copied: int, total: int, finished: bool) -> None:
        end = "\n" if finished else ""
        print(f"\r{table}: {copied:,}/{total:,} rows", end=end, file=err, flush=True)

    try:
        refuse_same_database(source_label, target_label)
        with opened(args.source, "--from") as source:
            check_source(source.engine)  # before the target is opened (or created)
            with opened(args.target, "--to") as target:
                print(f"copying {source_label} -> {target_label}", file=err, flush=True)
                report = copy_database(
                    source.engine,
                    target.engine,
                    source_label=source_label,
                    force=args.force,
                    batch_size=args.batch_size,
                    report=progress,
                    verifying=lambda: print("verifying every table", file=err, flush=True),
                )
    except CopyRefused as exc:
        return fail(f"copy refused ({exc.code}): {exc.message}", USAGE)
    print_report(report, args.source, args.target)
    return 0 if report.same else FAILED


@contextmanager
def opened(url: str, flag: str) -> Iterator[Database]:
    """The database a flag names. Only the target may be created: a missing SQLite
    source is refused rather than left behind as an empty file."""
    file = sqlite_file(url)
    if flag == "--from" and file is not None and not file.exists():
        raise CopyRefused(f"--from names {file}, which does not exist", code=SOURCE_MISSING)
    try:
        with opened_database(url, for_migration=True) as database:
            yield database
    except ConfigError as exc:  # its messages name DATABASE_URL; here the URL is a flag's
        raise ConfigError(str(exc).replace("DATABASE_URL", flag)) from None


def print_report(report: CopyReport, source_url: str, target_url: str) -> None:
    if report.resumed:
        print("resumed an interrupted copy")
    rows = [
        [
            check.table,
            f"{check.source.rows:,}",
            f"{check.target.rows:,}",
            check.source.checksum[:16],
            "ok" if check.same else "DIFFERENT",
        ]
        for check in report.checks
    ]
    print(format_table(["table", "source rows", "target rows", "checksum", "result"], rows))
    different = [check.table for check in report.checks if not check.same]
    if different:
        print(f"the copy differs in {', '.join(different)}: rerun with --force to copy again")
    else:
        print("copied and verified: every table has the same rows on both sides")
    if report.encrypted_keys:
        print(secret_note(report.encrypted_keys, source_url, target_url))


def secret_note(keys: int, source_url: str, target_url: str) -> str:
    """Where the secret must go: without it the target cannot read the copied keys, and a
    first `serve` on an SQLite target would create a new, different one."""
    source_file, target_file = sqlite_file(source_url), sqlite_file(target_url)
    where = f"{source_file}{SUFFIX}, or GQL_SECRET_KEY" if source_file else "GQL_SECRET_KEY"
    to = (
        f"copy it to {target_file}{SUFFIX} (mode 0600) before the first `serve`, or set "
        "GQL_SECRET_KEY"
        if target_file
        else "set GQL_SECRET_KEY to it for the target's server"
    )
    return (
        f"{keys} printer Moonraker API key(s) were copied encrypted: move the secret too. "
        f"It is in {where}; {to}."
    )
