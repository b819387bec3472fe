"""The SQLite secret file: where a single-machine install keeps its server secret.

With SQLite and no ``GQL_SECRET_KEY``, the secret that encrypts stored Moonraker API keys
lives in ``<database file>.secret`` (mode 0600), created on the first run and reused
after. It sits beside the database so a backup of the folder takes both; someone who can
read the database can usually read the folder, so this guards against leaked database
copies and dumps, not against the machine's owner. In-memory SQLite and MariaDB get no
file: there the secret comes from ``GQL_SECRET_KEY`` or there is none.
"""

import dataclasses
import os
import secrets
import stat
import sys
from pathlib import Path

from gql_server.config import SECRET_KEY_MIN_LENGTH, ConfigError, Settings
from gql_server.db.opening import sqlite_file

SUFFIX = ".secret"
GROUP_OR_OTHER = 0o077


class SecretFileError(ConfigError):
    """The secret file cannot be used; the message says how to fix it."""


def secret_file_path(database_url: str) -> Path | None:
    """``<database>.secret`` for an SQLite file database; None for anything else."""
    database = sqlite_file(database_url)
    return None if database is None else database.with_name(database.name + SUFFIX)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def settings_with_secret(settings: Settings, *, create: bool = True) -> Settings:
    """``settings`` whose ``secret_key`` is the one to use: ``GQL_SECRET_KEY`` when set,
    else the SQLite secret file (created when missing and ``create``), else None.

    Called by ``serve`` (and each of its workers), ``sync`` and the migration, never on
    import: only a command that runs against the database should create a file there.
    """
    if settings.secret_key is not None:
        return settings
    path = secret_file_path(settings.database_url)
    if path is None:
        return settings
    if not path.exists():
        if not create:
            return settings
        if create_secret_file(path, new_secret()):
            announce_created(path)
    return dataclasses.replace(settings, secret_key=read_secret_file(path))


def announce_created(path: Path) -> None:
    print(
        f"created {path.absolute()} (mode 0600): the secret that encrypts stored Moonraker "
        "API keys. Back it up with the database; without it the stored keys cannot be read.",
        file=sys.stderr,
        flush=True,
    )


def read_secret_file(path: Path) -> str:
    """The secret in ``path``, refusing a file that group or others may read or write."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise SecretFileError(f"cannot read the secret file {path}: {exc.strerror}") from None
    with os.fdopen(fd, encoding="utf-8") as file:
        mode = os.fstat(file.fileno()).st_mode  # of the file we read, not of a swapped path
        if not stat.S_ISREG(mode):
            raise SecretFileError(f"the secret file {path} is not a regular file")
        if mode & GROUP_OR_OTHER:
            raise SecretFileError(
                f"the secret file {path} is accessible to group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
            )
        secret = file.read().strip()
    if len(secret) < SECRET_KEY_MIN_LENGTH:
        raise SecretFileError(
            f"the secret file {path} must hold at least {SECRET_KEY_MIN_LENGTH} characters"
        )
    return secret


def create_secret_file(path: Path, secret: str) -> bool:
    """Create ``path`` holding ``secret`` unless it exists; True when this call made it.

    The content is written to a private temporary file and hard-linked into place, so a
    second process (another ``serve`` worker) sees either no file or the whole secret,
    and only one of them wins."""
    staged = _write_private(path.with_name(f"{path.name}.{os.getpid()}.tmp"), secret)
    try:
        os.link(staged, path)
    except FileExistsError:
        return False
    finally:
        staged.unlink(missing_ok=True)
    _sync_directory(path.parent)
    return True


def stage_secret_file(path: Path, secret: str) -> Path:
    """Write the next secret to ``<path>.new`` (0600) for ``replace_secret_file``; a crash
    between the two leaves it there, so the new secret is never lost."""
    return _write_private(path.with_name(path.name + ".new"), secret)


def replace_secret_file(staged: Path, path: Path) -> None:
    os.replace(staged, path)  # atomic: readers see the old file or the new one
    _sync_directory(path.parent)


def _write_private(path: Path, secret: str) -> Path:
    path.unlink(missing_ok=True)  # a leftover of a crashed run holds nothing we need
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken the owner's bits too
        os.write(fd, (secret + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
