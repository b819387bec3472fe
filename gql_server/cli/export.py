"""``gql-server export``: print jobs as CSV or NDJSON, as ``GET /export/print-jobs.*``
serves them, straight from the database (no server, no API key)."""

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, TextIO

from gql_server.cli.failures import USAGE, fail
from gql_server.cli.parser import Commands, add_command
from gql_server.config import Settings
from gql_server.db.opening import opened_database
from gql_server.graphql.job_export_options import PARAMETERS
from gql_server.services.export_formats import FORMATS

DESCRIPTION = """\
write print jobs as CSV or NDJSON: the columns and values of GET /export/print-jobs.csv
(or .ndjson), which are printJobs' scalar fields. The options below are printJobs'
filter and orderBy, with the same bounds as the query (example:
--status COMPLETED --started-after 2026-01-01 --order-by END_TIME --direction ASC).
A progress line (rows written) goes to stderr."""


def register(commands: Commands) -> None:
    export = add_command(commands, "export", DESCRIPTION.splitlines()[0])
    export.description = DESCRIPTION
    export.add_argument("--format", choices=sorted(FORMATS), required=True, help="file format")
    export.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write to FILE (default: stdout); it appears only once complete: a failed "
        "export leaves FILE as it was",
    )
    filters = export.add_argument_group("filter and order (printJobs' filter and orderBy)")
    for parameter in PARAMETERS:
        filters.add_argument(
            parameter.flag,
            dest=parameter.name,
            action="append",  # given twice, a single-valued one is refused as in a URL
            metavar=parameter.metavar,
            help=f"{parameter.help} [URL: {parameter.name}=]",
        )
    export.set_defaults(handler=run_export)


class Progress:
    """One line on stderr, rewritten after each batch."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.rows = 0

    def add(self, rows: int) -> None:
        self.rows += rows
        print(f"\rexport: {self.rows:,} rows written", end="", file=self.stream, flush=True)


def run_export(settings: Settings, args: argparse.Namespace, err: TextIO | None = None) -> int:
    # The GraphQL layer (ids, enums, inputs) is loaded for this command only.
    from gql_server.graphql.job_export import export_chunks
    from gql_server.graphql.job_export_parameters import (
        ExportParameterError,
        parse_export_parameters,
    )

    err = err if err is not None else sys.stderr
    values = {p.name: getattr(args, p.name) for p in PARAMETERS if getattr(args, p.name)}
    try:
        job_filter, order = parse_export_parameters(values)
    except ExportParameterError as exc:
        flags = {p.name: p.flag for p in PARAMETERS}
        return fail(
            f"error: {exc.message} ({flags.get(exc.parameter or '', '')}, {exc.code})", USAGE
        )
    progress = Progress(err)
    with opened_database(settings.database_url) as database:
        chunks = export_chunks(
            database.scope_run,
            FORMATS[args.format],
            job_filter=job_filter,
            order=order,
            on_rows=progress.add,
        )
        if args.output is None:
            write_all(chunks, sys.stdout.buffer)
        else:
            write_atomically(Path(args.output), chunks)
    print(f"\rexport: {progress.rows:,} rows written", file=err)
    return 0


def write_all(chunks: Iterable[bytes], stream: BinaryIO) -> None:
    for chunk in chunks:
        stream.write(chunk)
    stream.flush()


def write_atomically(target: Path, chunks: Iterable[bytes]) -> None:
    """Into a temporary file beside ``target``, renamed over it once complete: a reader
    never sees half a file, and a failure (or Ctrl-C) leaves ``target`` untouched."""
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            write_all(chunks, stream)
            os.fsync(stream.fileno())
        os.chmod(temporary, _new_file_mode())
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def _new_file_mode() -> int:
    """What open() would give a new file (mkstemp's are the owner's only)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
