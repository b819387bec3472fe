#!/usr/bin/env python3
"""Build the wheel, install it in a fresh virtualenv outside the source tree, and use it.

Why: the test suite runs against an editable install, where files the wheel forgets
(Alembic scripts, GraphiQL bundles) are still found in the checkout. This script proves the
installed package stands alone: in a temporary directory it runs ``gql-server migrate``,
starts ``gql-server serve`` on a free 127.0.0.1 port, sends one GraphQL query with the
bootstrap key the server prints, and loads the GraphiQL page and one of its bundles.
Every step is bounded in time; any failure exits 1 naming the step.

Run after ``scripts/fetch_graphiql_assets.py`` (the bundles are built into the wheel):

    .venv/bin/python scripts/wheel_smoke.py [--keep]

Stdlib only, so it needs nothing beyond the interpreter that runs it and its pip.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT = 180
INSTALL_TIMEOUT = 300
COMMAND_TIMEOUT = 60
START_TIMEOUT = 30
STOP_TIMEOUT = 20
HTTP_TIMEOUT = 10
SHUTDOWN_GRACE = "3"
KEY_PATTERN = re.compile(r"\bgqls_[A-Za-z0-9_\-]+")
VENDOR_ASSET = "/static/graphiql/graphiql.min.js"
BUILD_LEFTOVERS = (
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "test-output",
    "*.db*",
)


class SmokeFailure(Exception):
    """A step that did not do what an installed server must do."""


def step(title: str) -> None:
    print(f"-- {title}", flush=True)


def run(args: Sequence[str | Path], *, cwd: Path, env: dict[str, str], timeout: int) -> str:
    """Run one command to completion; its stdout, or a failure carrying its output."""
    printable = " ".join(str(arg) for arg in args)
    try:
        result = subprocess.run(
            [str(arg) for arg in args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SmokeFailure(f"{printable}: no answer within {timeout} s") from exc
    if result.returncode != 0:
        raise SmokeFailure(
            f"{printable}: exit status {result.returncode}\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def clean_environment(venv: Path, database_url: str) -> dict[str, str]:
    """The caller's environment without anything that could lead back to the checkout
    (PYTHONPATH, an active virtualenv) or change the server (GQL_* settings)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GQL_", "PYTHON", "VIRTUAL_ENV")) and name != "DATABASE_URL"
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["DATABASE_URL"] = database_url
    env["GQL_SHUTDOWN_GRACE"] = SHUTDOWN_GRACE
    return env


def copy_sources(source: Path) -> None:
    """The checkout without build leftovers: setuptools builds in ``build/`` inside the
    tree and never empties it, so a wheel built in place can carry files (GraphiQL bundles
    among them) that the checkout no longer has, and pass this test falsely."""
    leftovers = shutil.ignore_patterns(*BUILD_LEFTOVERS)
    shutil.copytree(REPO, source, ignore=leftovers, symlinks=True)


def build_wheel(root: Path) -> Path:
    step("build the wheel from a clean copy of the checkout")
    source, dist = root / "source", root / "dist"
    copy_sources(source)
    args = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, source]
    run(args, cwd=source, env=dict(os.environ), timeout=BUILD_TIMEOUT)
    wheels = list(dist.glob("gql_server-*.whl"))
    if len(wheels) != 1:
        raise SmokeFailure(f"expected one gql_server wheel in {dist}, found {wheels}")
    return wheels[0]


def install_wheel(wheel: Path, venv: Path, work: Path) -> None:
    step(f"install {wheel.name} in a fresh virtualenv")
    run([sys.executable, "-m", "venv", venv], cwd=work, env=dict(os.environ), timeout=120)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel]
    run(pip, cwd=work, env=dict(os.environ), timeout=INSTALL_TIMEOUT)


def check_installed_outside_repo(venv: Path, work: Path, env: dict[str, str]) -> None:
    """The package must come from the virtualenv, never from the checkout."""
    code = "import gql_server; print(gql_server.__file__)"
    location = Path(run([venv / "bin" / "python", "-c", code], cwd=work, env=env, timeout=60))
    resolved = Path(str(location).strip()).resolve()
    if not resolved.is_relative_to(venv.resolve()):
        raise SmokeFailure(f"gql_server was imported from {resolved}, not from {venv}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(
    url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, str, bytes]:
    """One bounded request: status, content type and body (error statuses included)."""
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def wait_until_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    step("wait for /healthz")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SmokeFailure(f"gql-server serve exited with status {server.returncode}")
        try:
            if http(f"{base}/healthz")[0] == 200:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SmokeFailure(f"/healthz did not answer 200 within {START_TIMEOUT} s")


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def bootstrap_key(log: Path) -> str:
    keys = KEY_PATTERN.findall(log.read_text(errors="replace"))
    expect(len(keys) == 1, f"expected one bootstrap key in the serve output, found {len(keys)}")
    return keys[0]


def check_readiness(base: str) -> None:
    step("GET /readyz (the packaged migrations are at head)")
    status, _, body = http(f"{base}/readyz")
    expect(status == 200, f"/readyz answered {status}: {body[:200]!r}")


def check_query(base: str, key: str) -> None:
    step("one GraphQL query with the bootstrap key")
    body = json.dumps({"query": "{ viewer { name scopes } }"}).encode()
    headers = {"Content-Type": "application/json", "X-API-Key": key}
    status, _, raw = http(f"{base}/graphql", headers=headers, body=body)
    expect(status == 200, f"the query answered {status}: {raw[:300]!r}")
    answer = json.loads(raw)
    expect("errors" not in answer, f"the query failed: {answer}")
    expect(answer["data"]["viewer"]["name"] == "bootstrap admin", f"unexpected answer {answer}")


def check_graphiql(base: str) -> None:
    step("GET /graphql as a browser, then one of its bundles")
    status, kind, page = http(f"{base}/graphql", headers={"Accept": "text/html"})
    expect(status == 200, f"the GraphiQL page answered {status}: {page[:400]!r}")
    expect(kind.startswith("text/html"), f"the GraphiQL page came as {kind}")
    expect(VENDOR_ASSET.encode() in page, f"the GraphiQL page does not load {VENDOR_ASSET}")
    status, _, asset = http(f"{base}{VENDOR_ASSET}")
    expect(status == 200, f"{VENDOR_ASSET} answered {status}")
    expect(b"GraphiQL" in asset, f"{VENDOR_ASSET} does not look like the GraphiQL bundle")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then a bounded wait; a server that does not stop is a failure."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        server.kill()
        server.wait(timeout=STOP_TIMEOUT)
        raise SmokeFailure(f"gql-server serve did not stop within {STOP_TIMEOUT} s") from exc


def serve_and_check(venv: Path, work: Path, env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "serve.log"
    step(f"gql-server serve on {base}")
    command = [str(venv / "bin" / "gql-server"), "serve", "--host", "127.0.0.1"]
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*command, "--port", str(port)], cwd=work, env=env, stdout=output, stderr=output
        )
        try:
            wait_until_healthy(base, server)
            check_readiness(base)
            check_query(base, bootstrap_key(log))
            check_graphiql(base)
            step("stop the server")
            stop(server)
            # uvicorn re-raises SIGTERM once it has shut down cleanly, so -SIGTERM is normal.
            clean = server.returncode in (0, -signal.SIGTERM)
            expect(clean, f"serve exited with status {server.returncode}")
        except SmokeFailure:
            stop_quietly(server)
            print(f"serve output:\n{log.read_text(errors='replace')}", file=sys.stderr)
            raise


def stop_quietly(server: subprocess.Popen[bytes]) -> None:
    """Best effort on the way out of a failure that is already being reported."""
    try:
        stop(server)
    except SmokeFailure as exc:
        print(exc, file=sys.stderr)


def smoke(root: Path) -> None:
    wheel = build_wheel(root)
    venv, work = root / "venv", root / "work"
    work.mkdir()
    install_wheel(wheel, venv, work)
    env = clean_environment(venv, f"sqlite:///{work / 'smoke.db'}")
    check_installed_outside_repo(venv, work, env)
    step("gql-server migrate")
    run([venv / "bin" / "gql-server", "migrate"], cwd=work, env=env, timeout=COMMAND_TIMEOUT)
    serve_and_check(venv, work, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the temporary directory")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gql-server-wheel-smoke-"))
    if root.resolve().is_relative_to(REPO):
        print(f"error: {root} lies inside the source tree; set TMPDIR elsewhere", file=sys.stderr)
        return 1
    started = time.monotonic()
    try:
        smoke(root)
    except SmokeFailure as exc:
        print(f"wheel smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"wheel smoke test passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
