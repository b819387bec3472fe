"""What the server says when the GraphiQL bundles are not installed."""

import logging
from pathlib import Path

import pytest

from gql_server.web import graphiql


def test_missing_bundles_are_logged_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(graphiql, "VENDOR_DIR", tmp_path / "no-vendor")
    with caplog.at_level(logging.WARNING, logger=graphiql.__name__):
        graphiql.graphiql_static_mount()
    assert [record.getMessage() for record in caplog.records] == [
        f"GraphiQL files missing from {tmp_path / 'no-vendor'} (react.production.min.js, "
        "react-dom.production.min.js, graphiql.min.js, graphiql.min.css): GET /graphql "
        f"answers 503 until {graphiql.FETCH_COMMAND} fills it"
    ]
