"""How a command that fails tells the operator: one line on stderr and an exit status,
never a traceback."""

import sys

from sqlalchemy.exc import SQLAlchemyError

from gql_server.config import ConfigError
from gql_server.db.faults import describe
from gql_server.db.opening import DatabaseNotMigrated
from gql_server.services.errors import ServiceError

USAGE = 2  # as argparse exits on a bad argument
FAILED = 1
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
# Failures of what the operator gave (configuration, an unmigrated database), not of the work.
USAGE_ERRORS = (ConfigError, DatabaseNotMigrated)


def fail(message: str, status: int) -> int:
    print(message, file=sys.stderr)
    return status


def report_failure(exc: Exception) -> int:
    """A command's uncaught exception as its line and exit status."""
    return fail(failure_message(exc), USAGE if isinstance(exc, USAGE_ERRORS) else FAILED)


def failure_message(exc: Exception) -> str:
    if isinstance(exc, ConfigError):
        return f"configuration error: {exc}"
    if isinstance(exc, DatabaseNotMigrated):
        return f"error: {exc}"
    if isinstance(exc, ServiceError):
        return f"error: {exc.message}"
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {describe(exc)}"
    return f"error: {type(exc).__name__}: {describe(exc)}"
