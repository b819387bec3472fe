"""A faithful fake of the part of Spoolman's API a job's cost reads, over real HTTP.

``GET /api/v1/spool/{id}`` answers a spool as Spoolman 0.22's ``Spool`` model does
(spoolman/api/v1/models.py: ``price`` of the whole spool, ``initial_weight`` net grams,
``used_weight``, ``filament`` with ``price``, ``density``, ``diameter``, ``weight``,
``vendor``…) and 404 ``{"message": "No spool with ID {id} found."}`` for an unknown id;
``GET /api/v1/setting/currency`` answers a SettingResponse whose ``value`` is JSON text
(``"\\"EUR\\""``, ``is_set`` false while it is Spoolman's default). ``down`` makes every
request answer 503, as a Spoolman behind a proxy whose backend is gone. Every request is
logged (``requests``).

No pytest import here: bench/ scripts may use this module too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.live_server import LiveServer

REGISTERED = "2026-01-01T10:00:00Z"


@dataclass
class FakeSpoolman:
    spools: dict[int, dict[str, Any]] = field(default_factory=dict)
    currency: str | None = None  # None: never set, Spoolman's default (EUR)
    down: bool = False
    requests: list[str] = field(default_factory=list)

    def add_spool(
        self,
        spool_id: int,
        *,
        price: float | None,
        initial_weight: float | None = 1000.0,
        density: float = 1.24,
        diameter: float = 1.75,
        filament_price: float | None = None,
        filament_weight: float | None = 1000.0,
        material: str = "PLA",
    ) -> dict[str, Any]:
        """A spool as Spoolman answers it (unused so far)."""
        spool = {
            "id": spool_id,
            "registered": REGISTERED,
            "first_used": None,
            "last_used": None,
            "filament": {
                "id": 100 + spool_id,
                "registered": REGISTERED,
                "name": f"{material} filament {spool_id}",
                "vendor": {
                    "id": 1,
                    "registered": REGISTERED,
                    "name": "Polymaker",
                    "comment": None,
                    "empty_spool_weight": 140.0,
                    "external_id": None,
                    "extra": {},
                },
                "material": material,
                "price": filament_price,
                "density": density,
                "diameter": diameter,
                "weight": filament_weight,
                "spool_weight": 140.0,
                "article_number": None,
                "comment": None,
                "settings_extruder_temp": 210,
                "settings_bed_temp": 60,
                "color_hex": "FF0000",
                "multi_color_hexes": None,
                "multi_color_direction": None,
                "external_id": None,
                "extra": {},
            },
            "price": price,
            "remaining_weight": initial_weight,
            "initial_weight": initial_weight,
            "spool_weight": 140.0,
            "used_weight": 0.0,
            "remaining_length": None,
            "used_length": 0.0,
            "location": None,
            "lot_nr": None,
            "comment": None,
            "archived": False,
            "extra": {},
        }
        self.spools[spool_id] = spool
        return spool


def create_app(fake: FakeSpoolman) -> Starlette:
    async def spool(request: Request) -> JSONResponse:
        fake.requests.append(request.url.path)
        if fake.down:
            return JSONResponse({"message": "Service Unavailable"}, status_code=503)
        raw = request.path_params["spool_id"]
        try:
            spool_id = int(raw)
        except ValueError:
            detail = [{"type": "int_parsing", "loc": ["path", "spool_id"], "input": raw}]
            return JSONResponse({"detail": detail}, status_code=422)
        found = fake.spools.get(spool_id)
        if found is None:
            return JSONResponse({"message": f"No spool with ID {spool_id} found."}, 404)
        return JSONResponse(found)

    async def currency(request: Request) -> JSONResponse:
        fake.requests.append(request.url.path)
        if fake.down:
            return JSONResponse({"message": "Service Unavailable"}, status_code=503)
        value = fake.currency or "EUR"
        body = {"value": json.dumps(value), "is_set": fake.currency is not None, "type": "string"}
        return JSONResponse(body)

    return Starlette(
        routes=[
            Route("/api/v1/spool/{spool_id}", spool),
            Route("/api/v1/setting/currency", currency),
        ]
    )


class FakeSpoolmanServer(LiveServer):
    """Runs a FakeSpoolman with uvicorn in a background thread on 127.0.0.1."""

    def __init__(self, spoolman: FakeSpoolman | None = None) -> None:
        self.spoolman = spoolman if spoolman is not None else FakeSpoolman()
        super().__init__(create_app(self.spoolman), lifespan="off", name="fake-spoolman")
