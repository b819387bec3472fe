"""Failures a caller can fix; the GraphQL layer turns them into ``userErrors``."""


class ServiceError(Exception):
    """A refused operation with a stable ``code`` and the input ``field`` to blame."""

    code = "INVALID"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class NotFoundError(ServiceError):
    code = "NOT_FOUND"


class ValidationError(ServiceError):
    code = "INVALID"


class DuplicateError(ServiceError):
    code = "DUPLICATE"
