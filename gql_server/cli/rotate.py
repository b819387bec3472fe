"""``gql-server rotate-secret``: re-encrypt every stored Moonraker API key under a new secret.

The new secret never comes from a plain argument: argv is readable by every local user
(``ps``, ``/proc/<pid>/cmdline``) and lands in shell history. It comes from an
environment variable named by ``--new-secret-env``, from standard input
(``--new-secret-stdin``, not echoed on a terminal), or, for the SQLite secret file, is
generated (``--generate``) and written only to that file.

Order for the file case: the new secret is written to ``<file>.new`` first, the keys are
re-encrypted and verified in one transaction, then the file is renamed over the old one.
A failure before the commit leaves everything as it was; a crash after it leaves the new
secret in ``<file>.new``, never lost.
"""

import argparse
import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from gql_server.cli.failures import FAILED, USAGE, fail
from gql_server.cli.parser import Commands, add_command
from gql_server.config import SECRET_KEY_MIN_LENGTH, Settings
from gql_server.db.opening import opened_database
from gql_server.db.secret_box import SecretBox
from gql_server.db.secret_file import (
    new_secret,
    read_secret_file,
    replace_secret_file,
    secret_file_path,
    stage_secret_file,
)
from gql_server.db.session import Database
from gql_server.services.moonraker_keys import MAKE_SECRET, rotate_api_keys


class RotationRefused(Exception):
    """Bad input: the message is the one line the operator sees (exit status 2)."""


class NewSecretNotInPlace(Exception):
    """The keys were committed under the new secret but the file could not be renamed."""


@dataclass(frozen=True, slots=True)
class NewSecretSource:
    env_name: str | None = None
    stdin: bool = False
    generate: bool = False


def register(commands: Commands) -> None:
    rotate = add_command(
        commands, "rotate-secret", "re-encrypt stored Moonraker API keys under a new secret"
    )
    given = rotate.add_mutually_exclusive_group(required=True)  # never the secret in argv
    given.add_argument("--new-secret-env", metavar="NAME", help="read it from variable NAME")
    given.add_argument("--new-secret-stdin", action="store_true", help="read it from stdin")
    given.add_argument("--generate", action="store_true", help="SQLite secret file only")
    rotate.set_defaults(handler=rotate_secret)


def rotate_secret(settings: Settings, args: argparse.Namespace) -> int:
    source = NewSecretSource(
        env_name=args.new_secret_env, stdin=args.new_secret_stdin, generate=args.generate
    )
    with opened_database(settings.database_url) as database:
        return run_rotate_secret(settings, source, database)


def run_rotate_secret(
    settings: Settings,
    source: NewSecretSource,
    database: Database,
    *,
    stdin: TextIO | None = None,
) -> int:
    try:
        old, file = _current_secret(settings)
        new = _new_secret(source, old, file, stdin if stdin is not None else sys.stdin)
    except RotationRefused as exc:
        return fail(f"error: {exc}", USAGE)
    try:
        count = _rotate(database, old, new, file)
    except (SQLAlchemyError, OSError) as exc:
        return fail(f"error: {_first_line(exc)}; nothing was changed", FAILED)
    except NewSecretNotInPlace as exc:
        return fail(f"error: {exc}", FAILED)
    print(f"re-encrypted {count} Moonraker API key{'' if count == 1 else 's'}")
    if file is not None:
        print(f"{file} now holds the new secret; restart the server to use it")
    else:
        print("set GQL_SECRET_KEY to the new secret and restart the server")
    return 0


def _current_secret(settings: Settings) -> tuple[str, Path | None]:
    """The secret the keys are stored with, and the SQLite file holding it (if it does)."""
    if settings.secret_key is not None:
        return settings.secret_key, None
    path = secret_file_path(settings.database_url)
    if path is not None and path.exists():
        return read_secret_file(path), path
    where = "" if path is None else f" and {path} does not exist"
    raise RotationRefused(f"there is no secret to rotate from: GQL_SECRET_KEY is not set{where}")


def _new_secret(source: NewSecretSource, old: str, file: Path | None, stdin: TextIO) -> str:
    if source.generate:
        if file is None:
            raise RotationRefused(
                "--generate only rotates the SQLite secret file; with GQL_SECRET_KEY, give "
                "the new secret with --new-secret-env or --new-secret-stdin so you can set it"
            )
        return new_secret()
    secret = _read_env(source.env_name) if source.env_name else _read_stdin(stdin)
    if len(secret) < SECRET_KEY_MIN_LENGTH:
        raise RotationRefused(
            f"the new secret must be at least {SECRET_KEY_MIN_LENGTH} characters; "
            f"make one with {MAKE_SECRET}"
        )
    if secret == old:
        raise RotationRefused("the new secret is the current one")
    return secret


def _read_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise RotationRefused(f"the environment variable {name} is not set")
    return value


def _read_stdin(stdin: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass("new secret: ").strip()
    return stdin.readline().strip()


def _rotate(database: Database, old: str, new: str, file: Path | None) -> int:
    staged = None if file is None else stage_secret_file(file, new)
    try:
        with database.scope() as session:
            rotation = rotate_api_keys(session, old=SecretBox(old), new=SecretBox(new))
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    if staged is not None and file is not None:
        try:
            replace_secret_file(staged, file)
        except OSError as exc:
            raise NewSecretNotInPlace(
                f"the keys now use the new secret, which is in {staged}: move it to {file} "
                f"({exc.strerror})"
            ) from exc
    return rotation.keys_reencrypted


def _first_line(exc: BaseException) -> str:
    """SQLAlchemy's messages run to several lines (the statement, a link): the first says it."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else 'no details'}"
