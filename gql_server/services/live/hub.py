"""The in-process event hub: live mode publishes, readers (GraphQL subscriptions) subscribe.

Publishing never waits for a reader. Each subscriber has its own bounded backlog: status
events are coalesced per printer (a slow reader gets the newest state, never a stale
queue of them), and job events queue up to ``max_job_events``; beyond that the oldest
are dropped and counted in ``lost``, so one stuck reader costs bounded memory and slows
nobody.
"""

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gql_server.services.live.state import LiveStatus

JobAction = Literal["ADDED", "UPDATED", "FINISHED"]
MAX_JOB_EVENTS = 1000


@dataclass(frozen=True, slots=True)
class StatusChanged:
    printer_id: int
    status: LiveStatus


@dataclass(frozen=True, slots=True)
class JobChanged:
    """A job written from a history notification: ``print_job_id`` is its row."""

    printer_id: int
    action: JobAction
    print_job_id: int
    job_id: str
    start_time: datetime


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """A sync's progress on one printer: after each page, and once when it ends
    (``finished``, with its error code when it failed). Queued like job events."""

    printer_id: int
    pages: int
    jobs_seen: int
    jobs_created: int
    jobs_updated: int
    finished: bool = False
    error_code: str | None = None


Event = StatusChanged | JobChanged | SyncProgress


class Subscriber:
    def __init__(
        self,
        printer_ids: Collection[int] | None,
        max_job_events: int,
        kinds: tuple[type[Event], ...] | None = None,
    ) -> None:
        self.printer_ids = None if printer_ids is None else frozenset(printer_ids)
        self.kinds = kinds
        self._statuses: OrderedDict[int, StatusChanged] = OrderedDict()
        self._jobs: deque[JobChanged | SyncProgress] = deque()
        self._max_jobs = max_job_events
        self._ready = asyncio.Event()
        self.lost = 0

    def wants(self, event: Event) -> bool:
        if self.kinds is not None and not isinstance(event, self.kinds):
            return False
        return self.printer_ids is None or event.printer_id in self.printer_ids

    def offer(self, event: Event) -> None:
        if isinstance(event, StatusChanged):
            self._statuses.pop(event.printer_id, None)
            self._statuses[event.printer_id] = event
        else:
            if len(self._jobs) >= self._max_jobs:
                self._jobs.popleft()
                self.lost += 1
            self._jobs.append(event)
        self._ready.set()

    async def next_events(self) -> list[Event]:
        """Everything pending, job events first (in order), then the newest status of
        each printer that changed; waits while there is nothing."""
        while not self._jobs and not self._statuses:
            self._ready.clear()
            await self._ready.wait()
        events: list[Event] = [*self._jobs, *self._statuses.values()]
        self._jobs.clear()
        self._statuses.clear()
        return events


class EventHub:
    def __init__(self, max_job_events: int = MAX_JOB_EVENTS) -> None:
        self._subscribers: set[Subscriber] = set()
        self._max_jobs = max_job_events
        self.published = 0

    def publish(self, event: Event) -> None:
        self.published += 1
        for subscriber in self._subscribers:
            if subscriber.wants(event):
                subscriber.offer(event)

    async def subscribe(
        self,
        printer_ids: Collection[int] | None = None,
        kinds: tuple[type[Event], ...] | None = None,
    ) -> AsyncIterator[list[Event]]:
        """Batches of events for these printers (all when None) until the caller stops;
        only events of these ``kinds`` when given: a reader of job events is then not
        woken by the farm's status updates, several hundred a second."""
        subscriber = Subscriber(printer_ids, self._max_jobs, kinds)
        self._subscribers.add(subscriber)
        try:
            while True:
                yield await subscriber.next_events()
        finally:
            self._subscribers.discard(subscriber)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
