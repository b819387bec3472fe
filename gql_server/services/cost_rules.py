"""How a job's cost is worked out from its figures and the prices in force at its start.

- grams: the filament's length (mm) times its cross-section (pi * (d/2)^2 mm^2) is a
  volume in mm^3; /1000 makes it cm^3, times the density (g/cm^3) grams;
- filament cost: grams / 1000 * price per kg;
- machine cost: ``total_duration`` (heating, pauses and printing: the time the printer
  draws power and is busy) / 3600 * the printer's hourly cost.
"""

import enum
import math
from dataclasses import dataclass

DEFAULT_DENSITY = 1.24  # g/cm^3, PLA
DEFAULT_DIAMETER = 1.75  # mm


class PriceSource(enum.StrEnum):
    """Why a job's filament cost is what it is (job_costs.filament_price_source, stored
    as the value)."""

    FILAMENT_TYPE = "FILAMENT_TYPE"  # the filament type's price in force at its start
    SPOOL = "SPOOL"  # its Spoolman spool's price
    NO_FILAMENT_TYPE = "NO_FILAMENT_TYPE"
    NO_PRICE = "NO_PRICE"
    NO_FILAMENT_USED = "NO_FILAMENT_USED"


@dataclass(frozen=True, slots=True)
class FilamentRate:
    """What a gram and a kilogram of the job's filament are: from a filament type's
    price row or a Spoolman spool."""

    price_per_kg: float
    density_g_per_cm3: float
    diameter_mm: float


def grams(length_mm: float, *, density_g_per_cm3: float, diameter_mm: float) -> float:
    cross_section_mm2 = math.pi * (diameter_mm / 2) ** 2
    return length_mm * cross_section_mm2 / 1000 * density_g_per_cm3


def filament_cost(length_mm: float, rate: FilamentRate) -> tuple[float, float]:
    """(grams, cost) of ``length_mm`` of filament at ``rate``."""
    weight = grams(
        length_mm, density_g_per_cm3=rate.density_g_per_cm3, diameter_mm=rate.diameter_mm
    )
    return weight, weight / 1000 * rate.price_per_kg


def machine_cost(total_duration_s: float, hourly_cost: float) -> float:
    return total_duration_s / 3600 * hourly_cost
