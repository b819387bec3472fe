"""Logging set-up: plain text, or one JSON object per line (GQL_LOG_FORMAT=json)."""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import unquote_plus

from gql_server.observability.request_id import request_id

# Attributes every LogRecord has; anything else was passed with ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


# Query parameters whose values are secrets. The server never accepts a key from the
# query string, but uvicorn logs the path of every request before we refuse it.
# A parameter is secret when a word of its name is one of these: api_key, X-API-Key,
# apikey, access_token, key[] and client_secret all are; keys and monkey are not.
SECRET_WORDS = frozenset(
    {"key", "apikey", "token", "accesstoken", "secret", "password", "auth", "authorization"}
)
REDACTED = "REDACTED"
# name=value after ?, & or ; (path parameters too), anywhere in the request target
_PARAMETER = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&;?#]*)=(?P<value>[^&;#]*)")


def is_secret_name(name: str) -> bool:
    words = re.findall(r"[a-z0-9]+", unquote_plus(name).lower())
    return not SECRET_WORDS.isdisjoint(words)


def redact_query(path: str) -> str:
    """``path`` with the values of secret parameters replaced by REDACTED."""

    def redact(match: re.Match[str]) -> str:
        if not is_secret_name(match["name"]):
            return match[0]
        return f"{match['lead']}{match['name']}={REDACTED}"

    return _PARAMETER.sub(redact, path)


class AccessLogRedactor(logging.Filter):
    """Rewrites the request path uvicorn passes as an argument of its access log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            record.args = tuple(
                redact_query(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


class TextFormatter(logging.Formatter):
    """Plain lines; "-" stands for the request id of logs written outside a request."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and value is not None:
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_handler(log_format: str, stream: TextIO = sys.stderr) -> logging.Handler:
    """The handler every log line goes through: request id attached, secrets in access
    log paths redacted, then text or JSON."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(AccessLogRedactor())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter(TEXT_FORMAT))
    return handler


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Route our logs and uvicorn's through one handler with the request id attached."""
    handler = log_handler(log_format)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
