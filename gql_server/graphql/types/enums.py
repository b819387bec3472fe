"""Enums of the API."""

import enum

import strawberry

from gql_server.services.annotations import FailureReason
from gql_server.services.file_queries import FileOrderField as PrintFileOrderField
from gql_server.services.job_queries import JobOrderField as PrintJobOrderField
from gql_server.services.printer_queries import PrinterOrderField as PrinterOrderFieldName
from gql_server.services.stats import StatsGroupBy

__all__ = [
    "ApiKeyScope",
    "FailureReason",
    "JobStatus",
    "OrderDirection",
    "PrintFileOrderField",
    "PrintJobOrderField",
    "PrinterOrderFieldName",
    "StatsGroupBy",
    "job_status",
]


@strawberry.enum(description="A job's status as Moonraker records it; UNKNOWN for new ones.")
class JobStatus(enum.Enum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ERROR = "error"
    IN_PROGRESS = "in_progress"
    KLIPPY_SHUTDOWN = "klippy_shutdown"
    KLIPPY_DISCONNECT = "klippy_disconnect"
    SERVER_EXIT = "server_exit"
    INTERRUPTED = "interrupted"
    UNKNOWN = "unknown"


_STATUSES = {member.value: member for member in JobStatus}


def job_status(value: str) -> JobStatus:
    return _STATUSES.get(value, JobStatus.UNKNOWN)


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"


# The orderings and groupings of the services, exposed as they are: their member names
# are the GraphQL values, their values what the services read.
strawberry.enum(
    PrintJobOrderField,
    name="PrintJobOrderField",
    description="What to sort print jobs by; ties are broken by id.",
)
strawberry.enum(
    PrintFileOrderField,
    name="PrintFileOrderField",
    description="What to sort files by: PRINTS (jobs), LAST_PRINTED (newest start), "
    "SUCCESS_RATE (completed / finished; files without a finished job last) or "
    "FILAMENT_USED (millimetres over every job); ties are broken by id.",
)
strawberry.enum(
    PrinterOrderFieldName,
    name="PrinterOrderField",
    description="What to sort printers by; ties are broken by id.",
)
strawberry.enum(
    StatsGroupBy, name="StatsGroupBy", description="How printStats groups jobs into buckets."
)
strawberry.enum(
    FailureReason, name="FailureReason", description="Why a print failed (annotatePrintJob)."
)


@strawberry.enum(description="READ: all queries; WRITE: printer mutations and sync; ADMIN: keys.")
class ApiKeyScope(enum.Enum):
    READ = "READ"
    WRITE = "WRITE"
    ADMIN = "ADMIN"
