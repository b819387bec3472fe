"""Each job's cost, written with the job and read back as it was written.

A job's cost depends only on its own figures and on the prices in force when it
started; prices only ever gain rows (services/prices.py). So the cost is worked out
once, whenever a unit of work writes the job (the rollups' ``tracking`` block calls
``write_costs`` with every job it wrote), and kept in ``job_costs``: a price set later
never changes it, and reading a cost or summing costs never looks a price up. The only
jobs a new price can concern are those starting at or after it (a printer's clock
ahead of ours): ``reprice`` works them out again.

A job's Spoolman spool is quoted by the importer, which asks Spoolman before writing
(``expect_spools``); the quote is stored with the job, so history stays put when the
spool's price changes in Spoolman and no query ever calls Spoolman.
"""

import enum
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, literal, null, select, union_all
from sqlalchemy.orm import Session

from gql_server.db.models import FilamentPrice, JobCost, JobDetails, PrinterHourlyRate, PrintJob
from gql_server.db.types import as_utc
from gql_server.services import cost_rules
from gql_server.services.cost_rules import FilamentRate, PriceSource
from gql_server.services.rollups import costs as cost_rollups
from gql_server.services.rollups.costs import CostContribution
from gql_server.services.rollups.maintain import stored_zone, zone_of
from gql_server.services.rollups.tally import Contribution

CHUNK = 500
_SPOOLS = "gql_server.job_costs.spools"
_SUMMED = cost_rollups.CONTRIBUTION_COLUMNS  # a job_costs row's keys and costs, in order


class SpoolStatus(enum.StrEnum):
    """What Spoolman said of a job's spool (job_costs.spool_status, stored as the value)."""

    FOUND = "FOUND"
    NOT_FOUND = "NOT_FOUND"  # Spoolman answered 404: the filament type's price applies
    UNAVAILABLE = "UNAVAILABLE"  # Spoolman did not answer
    NO_PRICE = "NO_PRICE"  # neither the spool nor its filament has a price and weight
    SEVERAL = "SEVERAL"  # the job used several spools: one length cannot be split
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"  # Spoolman prices in another currency


@dataclass(frozen=True, slots=True)
class SpoolQuote:
    """A job's spool and, when Spoolman priced it, its rate."""

    spool_id: int
    status: str
    currency: str  # the farm's, which a rate from Spoolman is in
    rate: FilamentRate | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    id: int
    printer_id: int
    job_id: str
    start_time: datetime
    status: str
    filament_used: float | None
    total_duration: float | None
    filament_type: str | None
    filament_type_folded: str | None
    slicer_folded: str | None
    stored: CostContribution | None  # its job_costs row, as summed in the cost rollups
    stored_quote: SpoolQuote | None


# A job's job_costs row: present (its id), what the cost rollups sum of it, its quote.
_STORED_COLUMNS = (
    JobCost.print_job_id,
    *cost_rollups.CONTRIBUTION_COLUMNS,
    JobCost.spool_id,
    JobCost.spool_status,
    JobCost.currency,
    JobCost.spool_price_per_kg,
    JobCost.spool_density_g_per_cm3,
    JobCost.spool_diameter_mm,
)
_STORED = select(*_STORED_COLUMNS)
_JOBS = (
    select(
        PrintJob.id,
        PrintJob.printer_id,
        PrintJob.job_id,
        PrintJob.start_time,
        PrintJob.status,
        PrintJob.filament_used,
        PrintJob.total_duration,
        JobDetails.filament_type,
        JobDetails.filament_type_folded,
        PrintJob.slicer_folded,
        *_STORED_COLUMNS,
    )
    .select_from(PrintJob)
    .outerjoin(JobDetails, JobDetails.print_job_id == PrintJob.id)
    .outerjoin(JobCost, JobCost.print_job_id == PrintJob.id)
)
Stored = tuple[CostContribution | None, SpoolQuote | None]
NOTHING_STORED: Stored = (None, None)


def expect_spools(
    session: Session, printer_id: int, quotes: Mapping[tuple[str, datetime], SpoolQuote]
) -> None:
    """Spool quotes for jobs (by Moonraker job id and start time) the unit of work is
    about to write; used by the next ``write_costs``."""
    pending: dict[tuple[int, str, datetime], SpoolQuote] = session.info.setdefault(_SPOOLS, {})
    for (job_id, start_time), quote in quotes.items():
        pending[(printer_id, job_id, as_utc(start_time))] = quote


def write_costs(session: Session, job_ids: Iterable[int]) -> None:
    """Work out and store the cost of these jobs (row ids) from the prices in force at
    their start."""
    pending: dict[tuple[int, str, datetime], SpoolQuote] = session.info.pop(_SPOOLS, {})
    ordered = sorted(job_ids)
    for start in range(0, len(ordered), CHUNK):
        jobs = _read_jobs(session, ordered[start : start + CHUNK])
        _write(session, jobs, pending)


def write_costs_of(
    session: Session, jobs: Sequence[Contribution], *, created: AbstractSet[int]
) -> None:
    """``write_costs`` for jobs whose figures the caller holds (rollups.maintain: what a
    unit of work wrote): only the stored costs of jobs it did not create are read."""
    pending: dict[tuple[int, str, datetime], SpoolQuote] = session.info.pop(_SPOOLS, {})
    ordered = sorted(jobs, key=lambda job: job.id)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        held = [job.id for job in chunk if job.id not in created]
        stored = _read_stored(session, held) if held else {}
        _write(
            session, [_job_of(job, stored.get(job.id, NOTHING_STORED)) for job in chunk], pending
        )


def _job_of(job: Contribution, stored: Stored) -> _Job:
    return _Job(
        job.id,
        job.printer_id,
        job.job_id,
        job.start_time,
        job.status,
        job.filament_used,
        job.total_duration,
        job.filament_type,
        job.filament_type_folded,
        job.slicer_folded,
        stored=stored[0],
        stored_quote=stored[1],
    )


def _read_stored(session: Session, ids: Sequence[int]) -> dict[int, Stored]:
    query = _STORED.where(JobCost.print_job_id.in_(ids))
    return {row[0]: _stored(tuple(row)) for row in session.execute(query)}


def _stored(values: tuple[Any, ...]) -> Stored:
    """What _STORED_COLUMNS read of a job_costs row; nothing when the job has none."""
    summed_end = 1 + len(_SUMMED)
    has_cost, summed, spool = values[0], values[1:summed_end], values[summed_end:]
    if has_cost is None:
        return NOTHING_STORED
    spool_id, status, currency, price, density, diameter = spool
    quote = None
    if spool_id is not None:
        rate = None if price is None else FilamentRate(price, density, diameter)
        quote = SpoolQuote(spool_id, status, currency, rate)
    return CostContribution(*summed), quote


def _read_jobs(session: Session, ids: Sequence[int]) -> list[_Job]:
    """The jobs with their stored costs, locked until the commit (MariaDB; SQLite has
    one writer at a time): two prices set at once reprice the same jobs, and the second
    used to read no cost row, insert one and hit the first's key, or subtract from the
    rollups a cost the first had replaced. Now it waits and reads the first's rows."""
    found = []
    for row in session.execute(_JOBS.where(PrintJob.id.in_(ids)).with_for_update()):
        values: tuple[Any, ...] = tuple(row)
        stored, quote = _stored(values[10:])
        job_id, printer_id, moonraker_id, start, state, used, total, kind, folded = values[:9]
        slicer = values[9]
        found.append(
            _Job(
                job_id,
                printer_id,
                moonraker_id,
                start,
                state,
                used,
                total,
                kind,
                folded,
                slicer,
                stored=stored,
                stored_quote=quote,
            )
        )
    return found


def _write(
    session: Session,
    jobs: list[_Job],
    pending: Mapping[tuple[int, str, datetime], SpoolQuote],
) -> None:
    if not jobs:
        return
    folded_types = {job.filament_type_folded for job in jobs if job.filament_type_folded}
    prices, rates = _price_book(session, folded_types, {job.printer_id for job in jobs})
    if not (prices or rates or pending):
        # Nothing to cost a job from: only stored costs can change (to none).
        jobs = [job for job in jobs if job.stored is not None]
    rows = []
    for job in jobs:
        quote = _quote(job, pending.get((job.printer_id, job.job_id, as_utc(job.start_time))))
        row = _cost_row(job, quote, prices, rates)
        if row is not None:
            rows.append(row)
    before = [job.stored for job in jobs if job.stored is not None]
    if before:
        stored_ids = [job.id for job in jobs if job.stored is not None]
        session.execute(delete(JobCost).where(JobCost.print_job_id.in_(stored_ids)))
    if rows:
        session.execute(insert(JobCost), rows)
    if before or rows:
        connection = session.connection()
        zone = zone_of(stored_zone(connection, lock=True))
        after = [CostContribution(*(row[c.key] for c in _SUMMED)) for row in rows]
        cost_rollups.apply(connection, zone, before, after)


def _quote(job: _Job, incoming: SpoolQuote | None) -> SpoolQuote | None:
    """The spool quote a job keeps: the first price Spoolman gave for it stays (a
    rewrite of the job, as when it finishes, does not take the spool's new price)."""
    kept = job.stored_quote
    if (
        kept is not None
        and kept.rate is not None
        and (incoming is None or incoming.spool_id == kept.spool_id)
    ):
        return kept
    return incoming if incoming is not None else kept


@dataclass(frozen=True, slots=True)
class _Price:
    """A filament_prices row, as a job is costed from it."""

    id: int
    filament_type_folded: str
    price_per_kg: float
    density_g_per_cm3: float
    diameter_mm: float
    currency: str
    effective_from: datetime


@dataclass(frozen=True, slots=True)
class _Rate:
    """A printer_hourly_rates row, as a job is costed from it."""

    id: int
    printer_id: int
    hourly_cost: float | None
    currency: str
    effective_from: datetime


# Prices of a filament type (folded) or rates of a printer, oldest first.
PriceHistory = dict[str, list[_Price]]
RateHistory = dict[int, list[_Rate]]
_PRICE, _RATE = 0, 1


def _price_book_query(with_prices: bool) -> Any:
    """The price book's statement, built once per shape with the filament types and
    printers bound as parameters: building it cost more than running it on each page."""
    price, rate = FilamentPrice, PrinterHourlyRate
    rates = select(
        literal(_RATE).label("kind"),
        rate.id,
        rate.printer_id.label("printer_id"),
        null().label("folded"),
        rate.hourly_cost.label("hourly_cost"),
        null().label("price_per_kg"),
        null().label("density"),
        null().label("diameter"),
        rate.currency,
        rate.effective_from,
    ).where(rate.printer_id.in_(bindparam("printer_ids", expanding=True)))
    if not with_prices:
        return rates
    prices = select(
        literal(_PRICE),
        price.id,
        null(),
        price.filament_type_folded,
        null(),
        price.price_per_kg,
        price.density_g_per_cm3,
        price.diameter_mm,
        price.currency,
        price.effective_from,
    ).where(price.filament_type_folded.in_(bindparam("folded_types", expanding=True)))
    return union_all(rates, prices)


_PRICE_BOOK = {with_prices: _price_book_query(with_prices) for with_prices in (False, True)}


def _price_book(
    session: Session, folded_types: set[str], printer_ids: set[int]
) -> tuple[PriceHistory, RateHistory]:
    """The prices of these filament types and the rates of these printers, in one
    statement (a UNION ALL of the two tables in one shape): a batch of jobs costs one
    round trip for what it is costed from, whether or not the farm set any."""
    parameters: dict[str, Any] = {"printer_ids": sorted(printer_ids)}
    if folded_types:
        parameters["folded_types"] = sorted(folded_types)
    query = _PRICE_BOOK[bool(folded_types)]
    prices: PriceHistory = {}
    rates: RateHistory = {}
    rows: list[tuple[Any, ...]] = [tuple(row) for row in session.execute(query, parameters)]
    for row in sorted(rows, key=lambda row: (as_utc(row[9]), row[1])):
        kind, row_id, printer_id, folded, hourly, per_kg, density, diameter, currency, since = row
        if kind == _PRICE:
            entry = _Price(row_id, folded, per_kg, density, diameter, currency, as_utc(since))
            prices.setdefault(folded, []).append(entry)
        else:
            rates.setdefault(printer_id, []).append(
                _Rate(row_id, printer_id, hourly, currency, as_utc(since))
            )
    return prices, rates


def in_force(history: Sequence[Any], at: datetime) -> Any | None:
    """The last row of ``history`` (oldest first) in force at ``at``: effective at or
    before it."""
    found = None
    moment = as_utc(at)
    for row in history:
        if as_utc(row.effective_from) > moment:
            break
        found = row
    return found


def _cost_row(
    job: _Job,
    quote: SpoolQuote | None,
    prices: PriceHistory,
    rates: RateHistory,
) -> dict[str, Any] | None:
    price = None
    if job.filament_type_folded is not None:
        price = in_force(prices.get(job.filament_type_folded, []), job.start_time)
    rate_row = in_force(rates.get(job.printer_id, []), job.start_time)
    hourly = None if rate_row is None else rate_row.hourly_cost
    if price is None and hourly is None and quote is None:
        return None
    machine = None
    if hourly is not None and job.total_duration is not None:
        machine = cost_rules.machine_cost(job.total_duration, hourly)
    source, rate = _filament_rate(job, quote, price)
    grams = filament = None
    if rate is not None and job.filament_used is not None:
        grams, filament = cost_rules.filament_cost(job.filament_used, rate)
    elif rate is not None:
        source = PriceSource.NO_FILAMENT_USED
    # The farm's one currency, whichever price says it (prices.py refuses any other).
    shown = next(c.currency for c in (price, rate_row, quote) if c is not None)
    return {
        "print_job_id": job.id,
        "filament_grams": grams,
        "filament_cost": filament,
        "machine_cost": machine,
        "currency": shown,
        "filament_price_source": source,
        "printer_id": job.printer_id,
        "status": job.status,
        "start_time": as_utc(job.start_time),
        "filament_type": job.filament_type,
        "filament_type_folded": job.filament_type_folded,
        "slicer_folded": job.slicer_folded,
        "filament_price_id": price.id if price and source == PriceSource.FILAMENT_TYPE else None,
        "spool_id": quote.spool_id if quote else None,
        "spool_status": quote.status if quote else None,
        "spool_price_per_kg": quote.rate.price_per_kg if quote and quote.rate else None,
        "spool_density_g_per_cm3": quote.rate.density_g_per_cm3 if quote and quote.rate else None,
        "spool_diameter_mm": quote.rate.diameter_mm if quote and quote.rate else None,
    }


def _filament_rate(
    job: _Job, quote: SpoolQuote | None, price: _Price | None
) -> tuple[PriceSource, FilamentRate | None]:
    """(source, rate): the spool's when Spoolman priced it, else the filament type's."""
    if quote is not None and quote.rate is not None:
        return PriceSource.SPOOL, quote.rate
    if price is not None:
        rate = FilamentRate(price.price_per_kg, price.density_g_per_cm3, price.diameter_mm)
        return PriceSource.FILAMENT_TYPE, rate
    if job.filament_type_folded is None:
        return PriceSource.NO_FILAMENT_TYPE, None
    return PriceSource.NO_PRICE, None


def reprice_filament_type(session: Session, folded_type: str, since: datetime) -> None:
    """Jobs of this type starting at or after a new price: the new price is theirs."""
    query = (
        select(PrintJob.id)
        .join(JobDetails, JobDetails.print_job_id == PrintJob.id)
        .where(and_(JobDetails.filament_type_folded == folded_type, PrintJob.start_time >= since))
    )
    write_costs(session, list(session.scalars(query)))


def reprice_printer(session: Session, printer_id: int, since: datetime) -> None:
    """A printer's jobs starting at or after a new hourly rate: the rate is theirs."""
    query = select(PrintJob.id).where(
        PrintJob.printer_id == printer_id, PrintJob.start_time >= since
    )
    write_costs(session, list(session.scalars(query)))


@dataclass(frozen=True, slots=True)
class StoredCost:
    filament_grams: float | None
    filament: float | None
    machine: float | None
    currency: str
    filament_price_source: str
    spool_id: int | None
    spool_status: str | None


def costs_of(session: Session, job_ids: Sequence[int]) -> dict[int, StoredCost]:
    """The stored cost of each job that has one, by row id: one statement per 500."""
    found: dict[int, StoredCost] = {}
    ordered = sorted(set(job_ids))
    columns = (
        JobCost.print_job_id,
        JobCost.filament_grams,
        JobCost.filament_cost,
        JobCost.machine_cost,
        JobCost.currency,
        JobCost.filament_price_source,
        JobCost.spool_id,
        JobCost.spool_status,
    )
    for start in range(0, len(ordered), CHUNK):
        query = select(*columns).where(JobCost.print_job_id.in_(ordered[start : start + CHUNK]))
        for row in session.execute(query):
            found[row[0]] = StoredCost(*row[1:])
    return found
