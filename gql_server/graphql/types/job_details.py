"""Slicer settings and estimates of one job."""

from typing import Any

import strawberry
from strawberry.scalars import JSON

from gql_server.graphql.types.node import Node


@strawberry.type(description="Slicer settings and estimates of one print job.")
class JobDetails(Node):
    layer_height: float | None
    first_layer_height: float | None
    nozzle_temp: int | None = strawberry.field(description="First-layer nozzle temperature, °C.")
    bed_temp: int | None = strawberry.field(description="First-layer bed temperature, °C.")
    print_speed: int | None = strawberry.field(
        description="Perimeter (wall) speed from the slicer settings, mm/s."
    )
    infill_percentage: int | None
    infill_pattern: str | None
    support_enabled: bool | None
    support_type: str | None
    filament_type: str | None = strawberry.field(description="';'-joined when several.")
    filament_brand: str | None
    filament_color: str | None
    estimated_time: int | None = strawberry.field(description="Slicer estimate, seconds.")
    estimated_filament: float | None = strawberry.field(description="Slicer estimate, grams.")
    layer_count: int | None
    object_height: float | None = strawberry.field(description="Millimetres.")
    raw_metadata: JSON | None


def job_details_from_row(row: Any) -> JobDetails:
    """``row`` may carry only the selected columns; the others stay None."""
    present = row._fields  # a Row raises (slowly) on a missing attribute: check first
    return JobDetails(
        database_id=row.id,
        layer_height=column(row, present, "layer_height"),
        first_layer_height=column(row, present, "first_layer_height"),
        nozzle_temp=column(row, present, "nozzle_temp"),
        bed_temp=column(row, present, "bed_temp"),
        print_speed=column(row, present, "print_speed"),
        infill_percentage=column(row, present, "infill_percentage"),
        infill_pattern=column(row, present, "infill_pattern"),
        support_enabled=column(row, present, "support_enabled"),
        support_type=column(row, present, "support_type"),
        filament_type=column(row, present, "filament_type"),
        filament_brand=column(row, present, "filament_brand"),
        filament_color=column(row, present, "filament_color"),
        estimated_time=column(row, present, "estimated_time"),
        estimated_filament=column(row, present, "estimated_filament"),
        layer_count=column(row, present, "layer_count"),
        object_height=column(row, present, "object_height"),
        raw_metadata=column(row, present, "raw_metadata"),
    )


def column(row: Any, present: tuple[str, ...], name: str) -> Any:
    """A column of a Row read for the selected fields only; None when not read."""
    return getattr(row, name) if name in present else None
