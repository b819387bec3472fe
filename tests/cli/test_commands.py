"""What every command says: the environment it reads (--help), the schema, the first key."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gql_server.cli import main
from gql_server.cli.parser import ENVIRONMENT
from gql_server.cli.serve import bootstrap_key
from gql_server.config import load_settings
from gql_server.db.session import Database
from tests.cli.conftest import run_cli

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_export_schema_prints_schema_graphql(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "export-schema") == SCHEMA_FILE.read_text()


class RecordingEnvironment(dict[str, str]):
    """An empty environment that remembers which variables were asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def test_serve_help_names_every_variable_the_settings_read() -> None:
    environment = RecordingEnvironment()
    load_settings(environment)
    assert set(ENVIRONMENT["serve"]) == environment.read


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["migrate"], "migrate"),
        (["serve"], "serve"),
        (["api-key", "create"], "api-key"),
        (["api-key", "list"], "api-key"),
        (["sync"], "sync"),
        (["rotate-secret"], "rotate-secret"),
        (["watch"], "watch"),
    ],
)
def test_help_lists_the_variables_a_command_reads(
    capsys: pytest.CaptureFixture[str], argv: list[str], command: str
) -> None:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    listed = capsys.readouterr().out.split("environment:", 1)[1]
    assert [name for name in ENVIRONMENT[command] if name not in listed] == []


def test_the_first_key_banner_points_to_the_cli(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap_key(database)
    assert "gql-server api-key create --name NAME --scope READ" in capsys.readouterr().out


def test_python_dash_m_runs_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gql_server.cli", "export-schema"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, SCHEMA_FILE.read_text())
