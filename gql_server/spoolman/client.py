"""Reading spools and the currency setting from a Spoolman server's ``/api/v1``.

Only what a job's cost needs: ``GET /api/v1/spool/{id}`` (404 with ``{"message": …}``
for an id it does not know) and ``GET /api/v1/setting/currency`` (a SettingResponse
whose ``value`` is JSON text, ``"\\"EUR\\""``). Any other failure (refused, timed out,
a 5xx, an answer of the wrong shape) is ``SpoolmanUnavailable``: an import goes on
without Spoolman rather than failing.
"""

import json
import math
from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT_SECONDS = 5.0
# Spoolman's default when its "currency" setting was never set.
SPOOLMAN_DEFAULT_CURRENCY = "EUR"


class SpoolmanUnavailable(Exception):
    """Spoolman did not give a usable answer."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Spool:
    """What a spool's cost needs, as Spoolman gives it (prices in its currency)."""

    id: int
    price: float | None  # the whole spool's price
    initial_weight: float | None  # grams of filament on the full spool
    filament_price: float | None
    filament_weight: float | None
    density: float  # g/cm^3
    diameter: float  # mm

    def price_per_kg(self) -> float | None:
        """The spool's price over its net weight; the filament's when the spool has none."""
        price = self.price if self.price is not None else self.filament_price
        weight = self.initial_weight or self.filament_weight
        if price is None or not weight:
            return None
        return price / weight * 1000


class SpoolmanClient:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/api/v1", transport=transport, timeout=timeout
        )

    async def __aenter__(self) -> "SpoolmanClient":
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._client.aclose()

    async def spool(self, spool_id: int) -> Spool | None:
        """The spool, or None when Spoolman does not know the id (404)."""
        answer = await self._get(f"/spool/{spool_id}", missing_ok=True)
        if answer is None:
            return None
        try:
            return _spool(answer)
        except (KeyError, TypeError, ValueError) as exc:
            raise SpoolmanUnavailable(f"spool {spool_id}: unexpected answer ({exc})") from None

    async def currency(self) -> str:
        answer = await self._get("/setting/currency", missing_ok=True)
        if answer is None:
            return SPOOLMAN_DEFAULT_CURRENCY
        try:
            value = json.loads(answer["value"])
        except (KeyError, TypeError, ValueError):
            raise SpoolmanUnavailable("currency setting: unexpected answer") from None
        if not isinstance(value, str):
            raise SpoolmanUnavailable("currency setting: not a string")
        return value

    async def _get(self, path: str, *, missing_ok: bool) -> Any:
        try:
            response = await self._client.get(path)
        except httpx.HTTPError as exc:
            raise SpoolmanUnavailable(f"{path}: {type(exc).__name__}") from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code != 200:
            raise SpoolmanUnavailable(f"{path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise SpoolmanUnavailable(f"{path}: not JSON") from None


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _positive(value: Any) -> float:
    number = _number(value)
    if number is None or number <= 0:
        raise ValueError(f"not a positive number: {value!r}")
    return number


def _spool(answer: dict[str, Any]) -> Spool:
    filament = answer["filament"]
    return Spool(
        id=int(answer["id"]),
        price=_number(answer.get("price")),
        initial_weight=_number(answer.get("initial_weight")),
        filament_price=_number(filament.get("price")),
        filament_weight=_number(filament.get("weight")),
        density=_positive(filament["density"]),
        diameter=_positive(filament["diameter"]),
    )
