"""Filament prices and printer hourly rates: versioned, never edited.

Setting a price adds a row in force from that moment; a job keeps the price in force
when it started (services/job_costs.py), so history does not change when a price does.
Every price is in the farm's one currency (GQL_CURRENCY): a price in another is
refused, so no cost or sum ever mixes currencies.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gql_server.db.folding import fold
from gql_server.db.models import FOLDED_WIDTHS, FilamentPrice, Printer, PrinterHourlyRate
from gql_server.services import job_costs
from gql_server.services.errors import NotFoundError, ValidationError
from gql_server.services.row_locks import lock_parent


@dataclass(frozen=True, slots=True)
class Bounds:
    """A number's allowed range, stated once: the service checks it and the GraphQL
    input's description says it."""

    field: str  # as the API names it
    maximum: float
    zero_ok: bool

    @property
    def text(self) -> str:
        low = "0 to" if self.zero_ok else "Above 0, at most"
        return f"{low} {self.maximum:g}"

    def check(self, value: float) -> float:
        low_ok = value >= 0 if self.zero_ok else value > 0
        if not (math.isfinite(value) and low_ok and value <= self.maximum):
            low = "at least 0" if self.zero_ok else "above 0"
            raise ValidationError(
                f"{self.field} must be {low} and at most {self.maximum:g}, got {value!r}",
                field=self.field,
                code="OUT_OF_RANGE",
            )
        return value


FILAMENT_TYPE_MAX = 100
# Bounds that keep a typo from pricing a farm's history: no filament costs 100,000 per
# kg, is denser than 25 g/cm^3 (osmium is 22.6) or thicker than 10 mm; an hourly rate
# is bounded as a price is.
PRICE_PER_KG = Bounds("pricePerKg", 100_000.0, zero_ok=True)
DENSITY = Bounds("densityGPerCm3", 25.0, zero_ok=False)
DIAMETER = Bounds("diameterMm", 10.0, zero_ok=False)
HOURLY_COST = Bounds("hourlyCost", PRICE_PER_KG.maximum, zero_ok=True)


@dataclass(frozen=True, slots=True)
class NewFilamentPrice:
    filament_type: str
    price_per_kg: float
    currency: str
    density_g_per_cm3: float
    diameter_mm: float


def check_currency(currency: str, farm_currency: str) -> str:
    if currency != farm_currency:
        raise ValidationError(
            f"prices are in the farm's currency {farm_currency} (GQL_CURRENCY), got "
            f"{currency[:10]!r}: costs in two currencies cannot be summed",
            field="currency",
            code="CURRENCY_MISMATCH",
        )
    return currency


def _check_filament_type(name: str) -> str:
    stripped = name.strip()
    if not stripped or len(stripped) > FILAMENT_TYPE_MAX:
        raise ValidationError(
            f"filamentType must be 1 to {FILAMENT_TYPE_MAX} characters",
            field="filamentType",
            code="INVALID_FILAMENT_TYPE",
        )
    return stripped


def set_filament_price(
    session: Session, new: NewFilamentPrice, *, farm_currency: str, now: datetime
) -> FilamentPrice:
    """Add a price of a filament type in force from ``now``."""
    filament_type = _check_filament_type(new.filament_type)
    row = FilamentPrice(
        filament_type=filament_type,
        filament_type_folded=fold(filament_type, FOLDED_WIDTHS["filament_type_folded"]),
        price_per_kg=PRICE_PER_KG.check(new.price_per_kg),
        currency=check_currency(new.currency, farm_currency),
        density_g_per_cm3=DENSITY.check(new.density_g_per_cm3),
        diameter_mm=DIAMETER.check(new.diameter_mm),
        effective_from=now,
    )
    session.add(row)
    session.flush()
    job_costs.reprice_filament_type(session, row.filament_type_folded, now)
    return row


def filament_prices(session: Session) -> Sequence[FilamentPrice]:
    """Every price ever set, by filament type then newest first."""
    query = select(FilamentPrice).order_by(
        FilamentPrice.filament_type_folded,
        FilamentPrice.effective_from.desc(),
        FilamentPrice.id.desc(),
    )
    return session.scalars(query).all()


def set_hourly_cost(
    session: Session,
    printer_id: int,
    hourly_cost: float | None,
    *,
    farm_currency: str,
    now: datetime,
) -> PrinterHourlyRate:
    """A printer's machine cost per hour from ``now``; None: no rate from now on."""
    if not lock_parent(session, Printer, printer_id):
        raise NotFoundError(f"no printer with id {printer_id}", field="id")
    if hourly_cost is not None:
        HOURLY_COST.check(hourly_cost)
    row = PrinterHourlyRate(
        printer_id=printer_id, hourly_cost=hourly_cost, currency=farm_currency, effective_from=now
    )
    session.add(row)
    session.flush()
    job_costs.reprice_printer(session, printer_id, now)
    return row


def hourly_costs(session: Session, printer_ids: Sequence[int], now: datetime) -> dict[int, float]:
    """Each printer's hourly cost in force at ``now`` (absent: none)."""
    query = (
        select(PrinterHourlyRate)
        .where(PrinterHourlyRate.printer_id.in_(list(printer_ids)))
        .order_by(PrinterHourlyRate.effective_from, PrinterHourlyRate.id)
    )
    history: dict[int, list[PrinterHourlyRate]] = {}
    for row in session.scalars(query):
        history.setdefault(row.printer_id, []).append(row)
    found = {}
    for printer_id, rows in history.items():
        current = job_costs.in_force(rows, now)
        if current is not None and current.hourly_cost is not None:
            found[printer_id] = float(current.hourly_cost)
    return found
