#!/usr/bin/env python3
"""Fetch the pinned GraphiQL assets from the npm registry into gql_server/static/vendor/.

Why: Strawberry's GraphiQL page loads React and GraphiQL from a CDN, which shows a blank
page on a network without internet access. We serve the bundles ourselves instead, but never
commit third-party bundles: this script downloads them at install time.

Every tarball is checked against its pinned npm ``dist.integrity`` (sha512) before anything
is read from it, and every extracted file against its pinned sha384 (the same SRI hashes
Strawberry's own page uses for these versions). Files already present with the right hash
are left alone, so running the script again is cheap and needs no network.

Stdlib only: it runs before (or without) the project's dependencies.

    python scripts/fetch_graphiql_assets.py [--dest DIR]
"""

import argparse
import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
DEFAULT_DEST = Path(__file__).resolve().parent.parent / "gql_server" / "static" / "vendor"
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Package:
    """One npm tarball, pinned by version and by the registry's sha512 integrity."""

    name: str
    version: str
    integrity: str
    # member path inside the tarball (under "package/") -> (file name in dest, sha384 SRI)
    files: dict[str, tuple[str, str]]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball_url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"


# The versions Strawberry's default page pins (react 18 and graphiql 3 still ship UMD builds).
PACKAGES = (
    Package(
        name="react",
        version="18.2.0",
        integrity="sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
        files={
            "umd/react.production.min.js": (
                "react.production.min.js",
                "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
            ),
            "LICENSE": (
                "LICENSE.react.txt",
                "sha384-dIN5gxuW3odCH42AKpxql36fRQlrVsjCi4EJgGC2Ty8Ihkcq9cdrChEZpKhSAfks",
            ),
        },
    ),
    Package(
        name="react-dom",
        version="18.2.0",
        integrity="sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
        files={
            "umd/react-dom.production.min.js": (
                "react-dom.production.min.js",
                "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
            ),
            "LICENSE": (
                "LICENSE.react-dom.txt",
                "sha384-dIN5gxuW3odCH42AKpxql36fRQlrVsjCi4EJgGC2Ty8Ihkcq9cdrChEZpKhSAfks",
            ),
        },
    ),
    Package(
        name="graphiql",
        version="3.8.3",
        integrity="sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        files={
            "graphiql.min.js": (
                "graphiql.min.js",
                "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
            ),
            "graphiql.min.css": (
                "graphiql.min.css",
                "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
            ),
            "LICENSE": (
                "LICENSE.graphiql.txt",
                "sha384-9JPX1agGTIUB7wtQt2kO3PUO7clmCJp+9e50VMjw1yd8briI77AZnMDBz5VcerBH",
            ),
        },
    ),
)


class FetchError(Exception):
    """A download or verification failure, with a message meant for the operator."""


def sri(algorithm: str, data: bytes) -> str:
    """Subresource-Integrity style digest, the format npm and browsers both use."""
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def file_matches(path: Path, expected: str) -> bool:
    return path.is_file() and sri("sha384", path.read_bytes()) == expected


def package_is_current(package: Package, dest: Path) -> bool:
    return all(file_matches(dest / name, digest) for name, digest in package.files.values())


def download_with_npm(package: Package) -> bytes:
    """`npm pack` honours the machine's npm configuration (registry mirror, proxy, CA)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = subprocess.run(
                ["npm", "pack", package.spec, "--loglevel=error", "--pack-destination", tmp],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS * 3,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise FetchError(f"npm pack {package.spec} timed out after {exc.timeout} s") from exc
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            errors = [line for line in result.stderr.splitlines() if "error" in line][:4]
            raise FetchError(f"npm pack {package.spec} failed: " + " / ".join(errors))
        return tarballs[0].read_bytes()


def download_with_urllib(package: Package) -> bytes:
    try:
        with urllib.request.urlopen(package.tarball_url, timeout=TIMEOUT_SECONDS) as response:
            return response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise FetchError(f"cannot download {package.tarball_url}: {exc}") from exc


def download(package: Package) -> bytes:
    """The tarball's bytes, verified against the pinned sha512 integrity."""
    use_npm = shutil.which("npm") is not None
    data = download_with_npm(package) if use_npm else download_with_urllib(package)
    actual = sri("sha512", data)
    if actual != package.integrity:
        raise FetchError(
            f"{package.spec}: integrity mismatch (expected {package.integrity}, got {actual})"
        )
    return data


def extract(package: Package, data: bytes, dest: Path) -> None:
    """Write only the pinned members, each checked before it replaces anything."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member_path, (name, digest) in package.files.items():
            member = archive.extractfile(f"package/{member_path}")
            if member is None:
                raise FetchError(f"{package.spec}: {member_path} is not a file in the tarball")
            content = member.read()
            if sri("sha384", content) != digest:
                raise FetchError(f"{package.spec}: {member_path} does not match its pinned hash")
            temporary = dest / f".{name}.tmp"
            temporary.write_bytes(content)
            temporary.replace(dest / name)


def fetch_all(dest: Path) -> list[str]:
    """Bring dest up to date; returns the specs that had to be downloaded."""
    dest.mkdir(parents=True, exist_ok=True)
    fetched = []
    for package in PACKAGES:
        if package_is_current(package, dest):
            continue
        extract(package, download(package), dest)
        fetched.append(package.spec)
    return fetched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="target directory")
    args = parser.parse_args(argv)
    try:
        fetched = fetch_all(args.dest)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(
            "The GraphiQL assets come from the npm registry at install time; run this script "
            "again on a machine that can reach it (npm's configured registry, or "
            f"{REGISTRY}).",
            file=sys.stderr,
        )
        return 1
    done = ", ".join(fetched) if fetched else "nothing to do, all files match their pins"
    print(f"GraphiQL assets in {args.dest}: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
