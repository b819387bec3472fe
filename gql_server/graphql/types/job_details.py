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
    values = row._asdict()
    return JobDetails(
        database_id=row.id,
        layer_height=values.get("layer_height"),
        first_layer_height=values.get("first_layer_height"),
        nozzle_temp=values.get("nozzle_temp"),
        bed_temp=values.get("bed_temp"),
        print_speed=values.get("print_speed"),
        infill_percentage=values.get("infill_percentage"),
        infill_pattern=values.get("infill_pattern"),
        support_enabled=values.get("support_enabled"),
        support_type=values.get("support_type"),
        filament_type=values.get("filament_type"),
        filament_brand=values.get("filament_brand"),
        filament_color=values.get("filament_color"),
        estimated_time=values.get("estimated_time"),
        estimated_filament=values.get("estimated_filament"),
        layer_count=values.get("layer_count"),
        object_height=values.get("object_height"),
        raw_metadata=values.get("raw_metadata"),
    )
