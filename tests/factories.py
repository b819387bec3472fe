"""Small factories for test data: explicit values, no shared globals."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gql_server.db.models import Printer
from gql_server.db.secret_box import secret_box_for
from gql_server.services.printers import create_printer
from tests.support.fake_moonraker import LOOPBACK

# The server secret of the test apps and syncers (GQL_SECRET_KEY in production).
TEST_SECRET = "test-secret-for-moonraker-keys-0123456789"
TEST_BOX = secret_box_for(TEST_SECRET)

EPOCH = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def make_printer(session: Session, name: str = "voron-1", **overrides: Any) -> Printer:
    fields: dict[str, Any] = {
        "moonraker_url": f"http://{name}.local:7125",
        "secret_box": TEST_BOX,
        "allowed_networks": LOOPBACK,
        **overrides,
    }
    return create_printer(session, name=name, **fields)


def make_job_row(index: int, **overrides: Any) -> dict[str, Any]:
    """A parsed Moonraker job (as the importer hands it to ``upsert_jobs``)."""
    start = EPOCH + timedelta(hours=index, microseconds=index)
    row: dict[str, Any] = {
        "job_id": f"{index:06X}",
        "user": "No User",
        "filename": f"part_{index}.gcode",
        "status": "completed",
        "start_time": start,
        "end_time": start + timedelta(seconds=600 + index),
        "print_duration": 500.25 + index,
        "total_duration": 600.5 + index,
        "filament_used": 1000.125 + index,
        "job_metadata": {"slicer": "PrusaSlicer", "layer_height": 0.2, "index": index},
        "auxiliary_data": [{"provider": "spoolman", "name": "spool_ids", "value": [index]}],
    }
    row.update(overrides)
    return row
