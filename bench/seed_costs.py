"""Prices for a seeded farm, and every job's cost from them (bench.scale).

The farm is bulk-inserted (bench/seed.py), so no job has a cost yet. A price for each
filament type the jobs use and an hourly rate per printer are stored in force from
before the first job; then every job's cost is written by the import's own code
(services/job_costs.write_costs), a chunk of ids per transaction, which keeps the cost
rollups as an import does.
"""

import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from gql_server.db.models import (
    FilamentPrice,
    JobDetails,
    Printer,
    PrinterHourlyRate,
    PrintJob,
)
from gql_server.db.session import Database
from gql_server.services.job_costs import write_costs

CHUNK = 20_000
CURRENCY = "EUR"


def seed_costs(database: Database, progress: Callable[[int, int], None] | None = None) -> float:
    """Price the farm and cost every job; returns the seconds it took."""
    started = time.perf_counter()
    with database.scope() as session:
        first = session.scalar(select(func.min(PrintJob.start_time)))
        if first is None:
            return 0.0
        since = first - timedelta(days=1)
        kinds = session.execute(
            select(JobDetails.filament_type, JobDetails.filament_type_folded)
            .where(JobDetails.filament_type_folded.is_not(None))
            .distinct()
        ).all()
        seen = set()
        for n, (kind, folded) in enumerate(kinds):
            if folded in seen:
                continue
            seen.add(folded)
            session.add(
                FilamentPrice(
                    filament_type=kind,
                    filament_type_folded=folded,
                    price_per_kg=18.0 + n,
                    currency=CURRENCY,
                    density_g_per_cm3=1.24,
                    diameter_mm=1.75,
                    effective_from=since,
                )
            )
        for printer_id in session.scalars(select(Printer.id)):
            session.add(
                PrinterHourlyRate(
                    printer_id=printer_id,
                    hourly_cost=0.15 + printer_id % 7 / 100,
                    currency=CURRENCY,
                    effective_from=since,
                )
            )
        total = session.scalar(select(func.count()).select_from(PrintJob)) or 0
    done, last_id = 0, 0
    while True:
        with database.scope() as session:
            query = select(PrintJob.id).where(PrintJob.id > last_id).order_by(PrintJob.id)
            ids = list(session.scalars(query.limit(CHUNK)))
            if not ids:
                break
            write_costs(session, ids)
        done += len(ids)
        last_id = ids[-1]
        if progress is not None:
            progress(done, total)
    return time.perf_counter() - started
