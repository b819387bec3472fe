"""The one exception the Moonraker layer raises, with a code callers can branch on."""

from typing import Literal, get_args

ErrorCode = Literal[
    "UNREACHABLE",
    "TIMEOUT",
    "AUTH_FAILED",
    "HTTP_ERROR",
    "BAD_RESPONSE",
    "TOO_LARGE",
    "ADDRESS_REFUSED",
    "INVALID_URL",
]
ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorCode))


class MoonrakerError(Exception):
    """A printer could not give us what we asked for.

    `message` is shown to our API's clients, so it is built only from text we
    control plus Moonraker's one-line `error.message`: never the printer's API
    key, Moonraker's traceback or a Python traceback. The original exception,
    when there is one, stays on `__cause__` for the logs.
    """

    code: ErrorCode
    message: str

    def __init__(self, code: ErrorCode, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown MoonrakerError code {code!r}")
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
