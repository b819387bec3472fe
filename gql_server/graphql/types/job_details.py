"""Slicer settings and estimates of one job."""

from typing import Any

import strawberry
from strawberry.scalars import JSON

from gql_server.graphql.ids import to_global_id
from gql_server.graphql.types.node import Node


@strawberry.type(description="Slicer settings and estimates of one print job.")
class JobDetails(Node):
    layer_height: float | None
    first_layer_height: float | None
    nozzle_temp: int | None = strawberry.field(description="First-layer nozzle temperature, °C.")
    bed_temp: int | None = strawberry.field(description="First-layer bed temperature, °C.")
    print_speed: int | None = strawberry.field(description="Outer wall / print speed, mm/s.")
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
    return JobDetails(
        id=strawberry.ID(to_global_id("JobDetails", row.id)),
        database_id=row.id,
        layer_height=row.layer_height,
        first_layer_height=row.first_layer_height,
        nozzle_temp=row.nozzle_temp,
        bed_temp=row.bed_temp,
        print_speed=row.print_speed,
        infill_percentage=row.infill_percentage,
        infill_pattern=row.infill_pattern,
        support_enabled=row.support_enabled,
        support_type=row.support_type,
        filament_type=row.filament_type,
        filament_brand=row.filament_brand,
        filament_color=row.filament_color,
        estimated_time=row.estimated_time,
        estimated_filament=row.estimated_filament,
        layer_count=row.layer_count,
        object_height=row.object_height,
        raw_metadata=row.raw_metadata,
    )
