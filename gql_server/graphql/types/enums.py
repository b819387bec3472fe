"""Enums of the API."""

import enum

import strawberry

from gql_server.services.job_queries import JobOrderField
from gql_server.services.printer_queries import PrinterOrderField
from gql_server.services.stats import StatsGroupBy as ServiceGroupBy


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


@strawberry.enum(description="What to sort print jobs by; ties are broken by id.")
class PrintJobOrderField(enum.Enum):
    START_TIME = JobOrderField.START_TIME.value
    END_TIME = JobOrderField.END_TIME.value
    DURATION = JobOrderField.DURATION.value
    FILAMENT_USED = JobOrderField.FILAMENT_USED.value


@strawberry.enum(
    name="PrinterOrderField", description="What to sort printers by; ties are broken by id."
)
class PrinterOrderFieldName(enum.Enum):
    NAME = PrinterOrderField.NAME.value
    CREATED_AT = PrinterOrderField.CREATED_AT.value
    LAST_SEEN = PrinterOrderField.LAST_SEEN.value


@strawberry.enum(description="How printStats groups jobs into buckets.")
class StatsGroupBy(enum.Enum):
    PRINTER = ServiceGroupBy.PRINTER.value
    STATUS = ServiceGroupBy.STATUS.value
    FILAMENT_TYPE = ServiceGroupBy.FILAMENT_TYPE.value
    DAY = ServiceGroupBy.DAY.value
    WEEK = ServiceGroupBy.WEEK.value
    MONTH = ServiceGroupBy.MONTH.value


@strawberry.enum(description="READ: all queries; WRITE: printer mutations and sync; ADMIN: keys.")
class ApiKeyScope(enum.Enum):
    READ = "READ"
    WRITE = "WRITE"
    ADMIN = "ADMIN"
