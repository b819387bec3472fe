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


# The type's data fields, all None until a row provides them.
_EMPTY_DETAILS = dict.fromkeys(
    name for name in JobDetails.__dataclass_fields__ if name not in ("id", "database_id")
)


def job_details(database_id: int, values: dict[str, Any]) -> JobDetails:
    """``values`` (taken over) holds the fields a query read; the others stay None."""
    values["database_id"] = database_id
    return JobDetails.from_fields(_EMPTY_DETAILS, values)


def job_details_from_row(row: Any) -> JobDetails:
    """From a row of job_details' own columns (its id and print_job_id included)."""
    values = dict(zip(row._fields, row, strict=True))
    fields = {name: value for name, value in values.items() if name in _EMPTY_DETAILS}
    return job_details(values["id"], fields)
