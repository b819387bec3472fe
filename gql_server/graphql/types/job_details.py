"""Slicer settings and estimates of one job."""

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
