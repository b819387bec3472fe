"""Quoting the Spoolman spools of the jobs an import writes.

Moonraker's ``auxiliary_data`` lists the spools a job used (provider ``spoolman``,
name ``spool_ids``). Each spool is asked of Spoolman once per import; what it answers
is stored with the job (services/job_costs.py). Spoolman not answering, not knowing a
spool, or pricing in another currency than the farm's never fails the import: the job
then takes its filament type's price, and the reason is stored with it.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gql_server.services.cost_rules import FilamentRate
from gql_server.services.job_costs import (
    SpoolQuote,
    SpoolStatus,
)
from gql_server.spoolman.client import SpoolmanClient, SpoolmanUnavailable

log = logging.getLogger(__name__)

JobKey = tuple[str, datetime]


def spool_ids(auxiliary_data: Any) -> list[int]:
    """The Spoolman spool ids a Moonraker job lists, in order, without repeats."""
    if not isinstance(auxiliary_data, list):
        return []
    found: list[int] = []
    for entry in auxiliary_data:
        if not isinstance(entry, dict):
            continue
        if entry.get("provider") != "spoolman" or entry.get("name") != "spool_ids":
            continue
        values = entry.get("value")
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, int) and not isinstance(value, bool) and value not in found:
                found.append(value)
    return found


@dataclass
class SpoolQuoter:
    """One import's quotes: a spool is asked for once however many jobs used it."""

    client: SpoolmanClient
    farm_currency: str
    _quotes: dict[int, SpoolQuote] = field(default_factory=dict)
    _currency_ok: bool | None = None

    async def quotes(self, rows: dict[JobKey, dict[str, Any]]) -> dict[JobKey, SpoolQuote]:
        """A quote per job (by key) that lists Spoolman spools."""
        found = {}
        for key, row in rows.items():
            ids = spool_ids(row.get("auxiliary_data"))
            if len(ids) > 1:
                found[key] = SpoolQuote(ids[0], SpoolStatus.SEVERAL, self.farm_currency)
            elif ids:
                found[key] = await self._quote(ids[0])
        return found

    async def _quote(self, spool_id: int) -> SpoolQuote:
        if spool_id not in self._quotes:
            self._quotes[spool_id] = await self._ask(spool_id)
        return self._quotes[spool_id]

    async def _ask(self, spool_id: int) -> SpoolQuote:
        try:
            if not await self._same_currency():
                return SpoolQuote(spool_id, SpoolStatus.CURRENCY_MISMATCH, self.farm_currency)
            spool = await self.client.spool(spool_id)
        except SpoolmanUnavailable as exc:
            log.warning("Spoolman unavailable, filament type prices apply: %s", exc)
            return SpoolQuote(spool_id, SpoolStatus.UNAVAILABLE, self.farm_currency)
        if spool is None:
            return SpoolQuote(spool_id, SpoolStatus.NOT_FOUND, self.farm_currency)
        price = spool.price_per_kg()
        if price is None:
            return SpoolQuote(spool_id, SpoolStatus.NO_PRICE, self.farm_currency)
        rate = FilamentRate(price, spool.density, spool.diameter)
        return SpoolQuote(spool_id, SpoolStatus.FOUND, self.farm_currency, rate)

    async def _same_currency(self) -> bool:
        if self._currency_ok is None:
            self._currency_ok = await self.client.currency() == self.farm_currency
        return self._currency_ok
