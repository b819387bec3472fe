"""Fixtures of the web tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from gql_server.db.session import Database
from tests.support.database_outage import KilledMariaDbConnection, Outage, VanishingSqliteFile


@pytest.fixture
def outage(database: Database, tmp_path: Path) -> Iterator[Outage]:
    chosen: Outage
    if database.engine.dialect.name == "sqlite":
        chosen = VanishingSqliteFile(database, tmp_path / "vanishing")
    else:
        chosen = KilledMariaDbConnection(database)
    yield chosen
    chosen.database.dispose()
