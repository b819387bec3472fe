"""What a job cost, what a bucket of jobs cost, and the filament prices they came from."""

from dataclasses import fields
from datetime import datetime
from typing import Any

import strawberry

from gql_server.services.cost_rules import PriceSource
from gql_server.services.job_costs import SpoolStatus, StoredCost
from gql_server.services.stats import CostSum

# Both are declared once, in services; these give them their GraphQL names and descriptions.
strawberry.enum(
    PriceSource,
    name="FilamentPriceSource",
    description="Where a job's filament price came from, or why it has none.",
)
strawberry.enum(
    SpoolStatus, description="What Spoolman said of a job's spool when the job was imported."
)


def _total(filament: float | None, machine: float | None) -> float | None:
    if filament is None and machine is None:
        return None
    return (filament or 0.0) + (machine or 0.0)


@strawberry.type(
    description="A job's cost, worked out when the job was imported from the prices in "
    "force when it started: a price set later does not change it."
)
class JobCost:
    filament: float | None = strawberry.field(
        description="Grams used / 1000 x price per kg: the Spoolman spool's price when the "
        "job lists one Spoolman knew, else its filament type's price (case-insensitive). "
        "Null when no price applies (no filament type, no price in force at its start)."
    )
    machine: float | None = strawberry.field(
        description="totalDuration (heating, pauses and printing) / 3600 x the printer's "
        "hourlyCost in force at the job's start; null when it had none."
    )
    currency: str = strawberry.field(description="ISO 4217 code: the farm's GQL_CURRENCY.")
    filament_grams: float | None = strawberry.field(
        description="filamentUsed (mm) x pi x (diameter / 2)^2 / 1000 x density (g/cm3)."
    )
    filament_price_source: PriceSource | None = strawberry.field(
        description="Where the filament price came from, or why there is none."
    )
    spool_id: int | None = strawberry.field(
        description="The Spoolman spool the job lists (auxiliary_data spool_ids)."
    )
    spool_status: SpoolStatus | None = strawberry.field(
        description="What Spoolman said of that spool at import; anything but FOUND "
        "means the filament type's price applied."
    )

    @strawberry.field(description="filament + machine; null when both are null.")
    def total(self) -> float | None:
        return _total(self.filament, self.machine)


def job_cost(stored: StoredCost | None, currency: str) -> JobCost:
    if stored is None:
        return JobCost(
            filament=None,
            machine=None,
            currency=currency,
            filament_grams=None,
            filament_price_source=None,
            spool_id=None,
            spool_status=None,
        )
    return JobCost(
        filament=stored.filament,
        machine=stored.machine,
        currency=stored.currency or currency,
        filament_grams=stored.filament_grams,
        filament_price_source=PriceSource(stored.filament_price_source),
        spool_id=stored.spool_id,
        spool_status=None if stored.spool_status is None else SpoolStatus(stored.spool_status),
    )


@strawberry.type(description="The summed costs of a bucket's jobs (each as in PrintJob.cost).")
class CostTotals:
    filament: float = strawberry.field(description="Sum of the jobs' filament costs.")
    machine: float = strawberry.field(description="Sum of the jobs' machine costs.")
    currency: str = strawberry.field(description="ISO 4217 code: the farm's GQL_CURRENCY.")
    jobs_without_filament_cost: int = strawberry.field(
        description="Jobs of the bucket whose filament cost is null (no price in force at "
        "their start, no filament type, no length): not in the sums."
    )
    total: float = strawberry.field(description="filament + machine.")


# What a StatsBucket holds as its cost when the query did not select it (never shown).
NOT_READ = CostTotals(
    filament=0.0, machine=0.0, currency="", jobs_without_filament_cost=0, total=0.0
)


def cost_totals(sums: CostSum | None, currency: str, job_count: int) -> CostTotals:
    """A bucket of ``job_count`` jobs; ``sums`` None: none of them has a cost."""
    found = sums or CostSum(0.0, 0.0, 0)
    return CostTotals(
        filament=found.filament,
        machine=found.machine,
        currency=currency,
        jobs_without_filament_cost=job_count - found.priced_jobs,
        total=found.filament + found.machine,
    )


@strawberry.type(description="A filament type's price, in force from effectiveFrom until the next.")
class FilamentPrice:
    filament_type: str = strawberry.field(description="Matched against jobs ignoring case.")
    price_per_kg: float
    currency: str
    density_g_per_cm3: float = strawberry.field(name="densityGPerCm3")
    diameter_mm: float
    effective_from: datetime = strawberry.field(
        description="When it was set: jobs starting at or after it use it."
    )


# Every field reads the filament_prices column of its own name.
_PRICE_COLUMNS = tuple(field.name for field in fields(FilamentPrice))


def filament_price_from_row(row: Any) -> FilamentPrice:
    """A filament_prices row; a column added to both needs no line here."""
    return FilamentPrice(**{name: getattr(row, name) for name in _PRICE_COLUMNS})
