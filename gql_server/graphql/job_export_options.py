"""The parameters of an export, by name: the query string's and ``gql-server export``'s.

Each is a field of ``PrintJobFilter`` or ``PrintJobOrder`` under its GraphQL name, its
values written as in GraphQL (enum names, global ids, ISO 8601 times); parsing them is
job_export_parameters.py's work. This module loads no GraphQL library, so that the
command line builds its parser without the GraphQL layer.
"""

from dataclasses import dataclass

from gql_server.services.annotations import FailureReason
from gql_server.services.job_queries import KNOWN_STATUSES, UNKNOWN_STATUS, JobOrderField

# The GraphQL names: JobStatus's are its values in capitals (graphql/types/enums.py),
# PrintJobOrderField is the service's enum itself.
STATUS_NAMES = tuple(status.upper() for status in (*KNOWN_STATUSES, UNKNOWN_STATUS))
ORDER_NAMES = tuple(field.name for field in JobOrderField)
FAILURE_REASON_NAMES = tuple(reason.name for reason in FailureReason)


@dataclass(frozen=True, slots=True)
class ExportParameter:
    name: str  # the GraphQL input field, and the query parameter
    flag: str  # gql-server export's option
    repeatable: bool
    metavar: str
    help: str


PARAMETERS: tuple[ExportParameter, ...] = (
    ExportParameter("printerIds", "--printer-id", True, "ID", "a printer's global id (repeatable)"),
    ExportParameter(
        "statuses", "--status", True, "STATUS", f"one of {', '.join(STATUS_NAMES)} (repeatable)"
    ),
    ExportParameter(
        "filenameContains", "--filename-contains", False, "TEXT", "substring, any case"
    ),
    ExportParameter("user", "--user", False, "NAME", "user name, any case"),
    ExportParameter(
        "filamentTypes", "--filament-type", True, "TYPE", "filament type, any case (repeatable)"
    ),
    ExportParameter("slicer", "--slicer", False, "NAME", "slicer name, any case"),
    ExportParameter(
        "failureReasons",
        "--failure-reason",
        True,
        "REASON",
        f"one of {', '.join(FAILURE_REASON_NAMES)} (repeatable)",
    ),
    ExportParameter(
        "startedAfter", "--started-after", False, "TIME", "ISO 8601 time; UTC if no zone"
    ),
    ExportParameter(
        "startedBefore", "--started-before", False, "TIME", "ISO 8601 time; UTC if no zone"
    ),
    ExportParameter(
        "orderBy", "--order-by", False, "FIELD", f"{', '.join(ORDER_NAMES)} (default START_TIME)"
    ),
    ExportParameter("direction", "--direction", False, "ASC|DESC", "ASC or DESC (default DESC)"),
)
PARAMETER_NAMES = tuple(parameter.name for parameter in PARAMETERS)
