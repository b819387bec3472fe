"""The migrations that ``gql-server migrate`` runs are the ones the ``alembic`` command sees."""

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

import gql_server
from gql_server.db.migrate import alembic_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def _script_dir(config: Config) -> Path:
    return Path(ScriptDirectory.from_config(config).dir).resolve()


def test_migrations_ship_inside_the_package() -> None:
    package = Path(gql_server.__file__).resolve().parent
    assert _script_dir(alembic_config()).is_relative_to(package)


def test_alembic_ini_points_at_the_packaged_migrations() -> None:
    repo_config = Config(str(REPO_ROOT / "alembic.ini"))
    assert _script_dir(repo_config) == _script_dir(alembic_config())
