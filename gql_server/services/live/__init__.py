"""Live mode: each active printer's Moonraker websocket, followed as it happens.

``service.LiveService`` keeps one ``connection.PrinterConnection`` per active printer;
``state`` merges Moonraker's partial status updates into a ``LiveStatus``; ``history``
writes the jobs of history notifications the way the importer does, one transaction
each (on SQLite shared through ``group_commit``); ``hub.EventHub``
hands every change to in-process readers (GraphQL subscriptions); ``broker.BrokeredHub``
also carries them between the processes of ``serve --workers N`` through Redis, as the
JSON of ``wire``.
"""

from gql_server.services.live.connection import Backoff
from gql_server.services.live.hub import EventHub, JobChanged, StatusChanged, SyncProgress
from gql_server.services.live.service import LiveService, LiveServiceOptions
from gql_server.services.live.state import (
    Connection,
    KlippyState,
    LiveStatus,
    PrintState,
    Temperature,
)

__all__ = [
    "Backoff",
    "Connection",
    "EventHub",
    "JobChanged",
    "KlippyState",
    "LiveService",
    "LiveServiceOptions",
    "LiveStatus",
    "PrintState",
    "StatusChanged",
    "SyncProgress",
    "Temperature",
]
