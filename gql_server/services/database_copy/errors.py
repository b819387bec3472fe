"""Why a copy refuses to start: each with a stable code an operator or script can test."""

from gql_server.services.errors import ServiceError


class CopyRefused(ServiceError):
    """Nothing was written to the target."""

    code = "COPY_REFUSED"


SAME_DATABASE = "SAME_DATABASE"
SOURCE_NOT_MIGRATED = "SOURCE_NOT_MIGRATED"
SOURCE_MISSING = "SOURCE_MISSING"
REVISION_MISMATCH = "REVISION_MISMATCH"
TARGET_NOT_EMPTY = "TARGET_NOT_EMPTY"
OTHER_SOURCE = "RESUME_FROM_OTHER_SOURCE"
