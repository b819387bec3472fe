"""``printJobs`` as the rows of a file: the export's columns, declared once.

Each column is a scalar field of ``printJobs``' nodes, named by its path in a query
(``printer.name``, ``jobDetails.filamentType``), with the value GraphQL returns for it:
the same global ids, enum names and ISO 8601 times (UTC, ``+00:00``). The CSV header,
the CSV rows, the NDJSON keys and the ``gql-server export`` command all read this list.
The JSON fields (``metadata``, ``auxiliaryData``, ``jobDetails.rawMetadata``) are left
out: they are documents, not cells.
"""

import functools
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gql_server.graphql.ids import to_global_id
from gql_server.graphql.types.enums import job_status
from gql_server.graphql.types.print_job import PrintJob
from gql_server.graphql.types.printer import Printer
from gql_server.services.export import JobBatch, SessionRunner, job_batches
from gql_server.services.export_formats import ExportFormat
from gql_server.services.job_queries import DETAILS_PREFIX, JobColumns, JobFilter, JobOrder

# (the row's value, the names of the batch's printers) -> the field's value
Convert = Callable[[Any, Mapping[int, str]], Any]


@dataclass(frozen=True, slots=True)
class ExportColumn:
    name: str  # the field's path in a printJobs query
    source: str  # the label of the job query's column it reads
    convert: Convert | None = None  # None: the column's value as it is


def _time(value: datetime | None, _printers: Mapping[int, str]) -> str | None:
    return None if value is None else value.isoformat()


def _status(value: str, _printers: Mapping[int, str]) -> str:
    return job_status(value).name


def _job_global_id(job_id: int, _printers: Mapping[int, str]) -> str:
    """As ``Node.id`` makes it, from the type's name."""
    return to_global_id(PrintJob.__name__, job_id)


def _printer_global_id(printer_id: int, _printers: Mapping[int, str]) -> str:
    return _encoded_printer_id(printer_id)


@functools.lru_cache(maxsize=4096)
def _encoded_printer_id(printer_id: int) -> str:
    """A farm's few printers recur on every row: each id is encoded once."""
    return to_global_id(Printer.__name__, printer_id)


def _printer_name(printer_id: int, printers: Mapping[int, str]) -> str:
    return printers[printer_id]


_JOB_FIELDS = {
    "jobId": "job_id",
    "user": "user",
    "filename": "filename",
}
_JOB_TIMES = {"startTime": "start_time", "endTime": "end_time"}
_JOB_NUMBERS = {
    "printDuration": "print_duration",
    "totalDuration": "total_duration",
    "filamentUsed": "filament_used",
}
_DETAIL_FIELDS = {
    "layerHeight": "layer_height",
    "firstLayerHeight": "first_layer_height",
    "nozzleTemp": "nozzle_temp",
    "bedTemp": "bed_temp",
    "printSpeed": "print_speed",
    "infillPercentage": "infill_percentage",
    "infillPattern": "infill_pattern",
    "supportEnabled": "support_enabled",
    "supportType": "support_type",
    "filamentType": "filament_type",
    "filamentBrand": "filament_brand",
    "filamentColor": "filament_color",
    "estimatedTime": "estimated_time",
    "estimatedFilament": "estimated_filament",
    "layerCount": "layer_count",
    "objectHeight": "object_height",
}

EXPORT_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("id", "id", _job_global_id),
    ExportColumn("databaseId", "id"),
    ExportColumn("printer.id", "printer_id", _printer_global_id),
    ExportColumn("printer.name", "printer_id", _printer_name),
    *(ExportColumn(name, source) for name, source in _JOB_FIELDS.items()),
    ExportColumn("status", "status", _status),
    *(ExportColumn(name, source, _time) for name, source in _JOB_TIMES.items()),
    *(ExportColumn(name, source) for name, source in _JOB_NUMBERS.items()),
    ExportColumn("createdAt", "created_at", _time),
    ExportColumn("updatedAt", "updated_at", _time),
    *(
        ExportColumn(f"jobDetails.{name}", DETAILS_PREFIX + source)
        for name, source in _DETAIL_FIELDS.items()
    ),
)
COLUMN_NAMES = tuple(column.name for column in EXPORT_COLUMNS)

# What the batches' query reads: every job column above (the sort columns among them)
# and the details' scalars, none of the JSON documents.
QUERY_COLUMNS = JobColumns(
    job=frozenset(
        column.source for column in EXPORT_COLUMNS if not column.source.startswith(DETAILS_PREFIX)
    ),
    details=True,
    detail=frozenset(_DETAIL_FIELDS.values()),
)


def batch_values(batch: JobBatch) -> list[list[Any]]:
    """The batch's rows as the columns' values, in EXPORT_COLUMNS' order. Positions are
    looked up once per batch (every row of a query has the same columns); the values
    are picked by one itemgetter per row, then the few converted columns rewritten."""
    labels = batch.rows[0]._fields
    pick = operator.itemgetter(*(labels.index(column.source) for column in EXPORT_COLUMNS))
    converted = [(i, c.convert) for i, c in enumerate(EXPORT_COLUMNS) if c.convert is not None]
    names = batch.printer_names
    values = [list(pick(row)) for row in batch.rows]
    for position, convert in converted:
        for row in values:
            row[position] = convert(row[position], names)
    return values


def export_chunks(
    run: SessionRunner[Any],
    export_format: ExportFormat,
    *,
    job_filter: JobFilter,
    order: JobOrder,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The export's bytes, a chunk per batch (the header first); lazily, so a caller
    pulls one batch through the database, the columns and the encoder at a time.
    ``on_rows`` is told how many rows each batch held once its chunk has been taken."""

    def values() -> Iterator[Sequence[list[Any]]]:
        for batch in job_batches(run, job_filter=job_filter, order=order, columns=QUERY_COLUMNS):
            rows = batch_values(batch)
            yield rows
            if on_rows is not None:
                on_rows(len(rows))

    return export_format.encode(COLUMN_NAMES, values())
