"""Per-request DataLoaders: every relationship is fetched a whole level at a time.

A fleet page of 50 printers x 20 jobs would cost one awaitable per job for its details,
and the event loop's overhead for those dominated the request (bench/fleet_query.py
measures it); instead the query that fetches a page of jobs also reads their details (a
LEFT JOIN) when the query selects them, and the per-object fields stay synchronous. How
this fits with the rest of a request: graphql/runtime/__init__.py.
"""

import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from gql_server.db.types import utcnow
from gql_server.graphql.runtime.selection import JobPageRequest
from gql_server.services import (
    annotations,
    estimates,
    file_queries,
    job_costs,
    job_queries,
    maintenance,
    prices,
    printer_queries,
)
from gql_server.services.job_queries import JobFilter
from gql_server.services.pagination import Page

T = TypeVar("T")
G = TypeVar("G")  # what the keys of one query have in common


class Read(Protocol):
    """``Context.read``: runs a unit of work off the event loop and returns its result."""

    def __call__(self, work: Callable[[Session], T]) -> Awaitable[T]: ...


@dataclass(frozen=True, slots=True)
class GroupKey(Generic[G]):
    """What one object asks a batched loader for: ``owner_id``'s answer (a printer's,
    a file's) under ``group`` (a filter, a page request, a printer filter). Keys that
    differ only by owner share one query."""

    group: G
    owner_id: int


class Loaders:
    def __init__(self, read: Read, clock: Callable[[], datetime] = utcnow) -> None:
        self._read = read
        self._clock = clock
        self.printer = DataLoader(self._load_printers)
        self.job = DataLoader(self._load_jobs)
        self.totals = DataLoader(self._load_totals)
        self.jobs_page = DataLoader(self._load_job_pages)
        self.job_count = DataLoader(self._load_job_counts)
        self.annotation = DataLoader(self._load_annotations)
        self.maintenance = DataLoader(self._load_maintenance)
        self.file = DataLoader(self._load_files)
        self.file_of_job = DataLoader(self._load_files_of_jobs)
        self.file_printers = DataLoader(self._load_file_printers)
        self.file_jobs_page = DataLoader(self._load_file_job_pages)
        self.file_job_count = DataLoader(self._load_file_job_counts)
        self.estimate_error = DataLoader(self._load_estimate_errors)
        self.job_cost = DataLoader(self._load_job_costs)
        self.hourly_cost = DataLoader(self._load_hourly_costs)

    async def _load_annotations(self, job_ids: Sequence[int]) -> list[Any]:
        return await self._by_id(job_ids, annotations.fetch_annotations)

    async def _load_maintenance(
        self, printer_ids: Sequence[int]
    ) -> list[list[maintenance.TaskStatus]]:
        now = self._clock()
        tasks = await self._read(
            lambda s: maintenance.measure_tasks(s, printer_ids=printer_ids, now=now)
        )
        by_printer: dict[int, list[maintenance.TaskStatus]] = defaultdict(list)
        for task in tasks:
            by_printer[task.printer_id].append(task)
        return [by_printer.get(printer_id, []) for printer_id in printer_ids]

    async def _load_files(self, ids: Sequence[int]) -> list[Any]:
        return await self._by_id(ids, file_queries.fetch_files_by_ids)

    async def _load_files_of_jobs(self, job_ids: Sequence[int]) -> list[Any]:
        return await self._by_id(job_ids, file_queries.fetch_files_of_jobs)

    async def _load_file_printers(
        self, keys: Sequence[GroupKey[tuple[int, ...] | None]]
    ) -> list[list[Any]]:
        return await self._per_group(keys, file_queries.fetch_printers_of_files)

    async def _load_file_job_pages(
        self, keys: Sequence[GroupKey[JobPageRequest]]
    ) -> list[Page[Any]]:
        return await self._per_group(keys, functools.partial(_pages_per, job_queries.Owner.FILE))

    async def _load_file_job_counts(self, keys: Sequence[GroupKey[JobFilter]]) -> list[int]:
        return await self._per_group(keys, job_queries.count_jobs_per_file)

    async def _load_estimate_errors(self, job_ids: Sequence[int]) -> list[float | None]:
        return await self._by_id(job_ids, estimates.fetch_estimate_errors)

    async def _load_printers(self, ids: Sequence[int]) -> list[Any]:
        return await self._by_id(ids, printer_queries.fetch_printers_by_ids)

    async def _load_jobs(self, ids: Sequence[int]) -> list[Any]:
        return await self._by_id(ids, job_queries.fetch_jobs_by_ids)

    async def _load_totals(self, printer_ids: Sequence[int]) -> list[Any]:
        return await self._by_id(printer_ids, printer_queries.fetch_totals_for_printers)

    async def _load_job_pages(self, keys: Sequence[GroupKey[JobPageRequest]]) -> list[Page[Any]]:
        return await self._per_group(keys, functools.partial(_pages_per, job_queries.Owner.PRINTER))

    async def _load_job_costs(self, ids: Sequence[int]) -> list[Any]:
        return await self._by_id(ids, job_costs.costs_of)

    async def _load_hourly_costs(self, printer_ids: Sequence[int]) -> list[float | None]:
        now = self._clock()
        return await self._by_id(printer_ids, lambda s, ids: prices.hourly_costs(s, ids, now))

    async def _load_job_counts(self, keys: Sequence[GroupKey[JobFilter]]) -> list[int]:
        return await self._per_group(keys, job_queries.count_jobs_per_printer)

    async def _by_id(
        self, ids: Sequence[int], fetch: Callable[[Session, Sequence[int]], Mapping[int, T]]
    ) -> list[T | None]:
        """``fetch``'s answer for each id, in one call; None for an id it did not find."""
        found = await self._read(lambda session: fetch(session, ids))
        return [found.get(key) for key in ids]

    async def _per_group(
        self,
        keys: Sequence[GroupKey[G]],
        fetch: Callable[[Session, list[int], G], Mapping[int, T]],
    ) -> list[T]:
        """``fetch``'s answer for each key: one call per distinct group (usually exactly
        one), over the owners asked with it."""
        owners: dict[G, list[int]] = defaultdict(list)
        for key in keys:
            owners[key.group].append(key.owner_id)

        def read(session: Session) -> dict[G, Mapping[int, T]]:
            return {group: fetch(session, ids, group) for group, ids in owners.items()}

        found = await self._read(read)
        return [found[key.group][key.owner_id] for key in keys]


def _pages_per(
    owner: job_queries.Owner, session: Session, owner_ids: list[int], r: JobPageRequest
) -> dict[int, Page[Any]]:
    return job_queries.fetch_job_pages_per_owner(
        session, owner, owner_ids, r.job_filter, r.order, r.args, r.selection.columns
    )
