"""The hub's events as JSON, for the broker between worker processes.

Generic over the event dataclasses of ``hub.Event``: a message names its class and holds
its fields; datetimes travel as ISO 8601 and nested dataclasses (``LiveStatus``,
``Temperature``) as objects, rebuilt from the class's type hints. An event class added
to ``hub.Event`` travels without a change here. ``VERSION`` is bumped when a field
changes meaning; a worker drops messages of another version (during a rolling restart
the older workers' events are missed rather than misread).
"""

import dataclasses
import json
import types
import typing
from datetime import datetime
from typing import Any

from gql_server.services.live.hub import Event

VERSION = 1


class WireError(ValueError):
    """A message this worker cannot read: another version, or not one of our events."""


def event_classes() -> dict[str, type[Any]]:
    return {cls.__name__: cls for cls in typing.get_args(Event)}


def encode(event: Event, *, origin: str, replay: bool = False) -> str:
    """``origin`` names the sending worker (it skips its own messages); ``replay`` marks
    a holder's periodic restatement of a status, for stores rather than subscribers."""
    message = {
        "v": VERSION,
        "origin": origin,
        "replay": replay,
        "type": type(event).__name__,
        "event": _plain(event),
    }
    return json.dumps(message, separators=(",", ":"))


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    origin: str
    replay: bool
    event: Event


def decode(text: str | bytes) -> Message:
    try:
        message = json.loads(text)
        if message.get("v") != VERSION:
            raise WireError(f"broker message of version {message.get('v')!r}, not {VERSION}")
        cls = event_classes().get(message["type"])
        if cls is None:
            raise WireError(f"unknown event type {message['type']!r}")
        event = _build(cls, message["event"])
        return Message(str(message["origin"]), bool(message.get("replay")), event)
    except WireError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WireError(f"unreadable broker message: {exc}") from None


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _build(cls: type[Any], data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    values = {f.name: _value(hints[f.name], data[f.name]) for f in dataclasses.fields(cls)}
    return cls(**values)


def _value(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _value(options[0], value) if len(options) == 1 else value
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1]
        return origin(_value(item, v) for v in value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if dataclasses.is_dataclass(hint):
        return _build(typing.cast(type[Any], hint), value)
    return value
