"""/healthz latency of a served gql-server while clients send hostile documents.

    python -m bench.hostile_documents [--seconds 5] [--streams 2]

Starts ``gql-server serve`` on a temporary SQLite database, measures /healthz idle, then
again while ``--streams`` clients send each document of
tests/support/hostile_documents.py (each request made unique by a comment, so none
is answered from the cache), and prints p50 / p99 / max per document with the time the
server took to answer the hostile requests themselves.
"""

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.session import Database
from gql_server.services.api_keys import create_api_key
from tests.support.hostile_documents import ATTACKS
from tests.support.served import served

POLL_EVERY = 0.02


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def poll_healthz(url: str, until: float) -> list[float]:
    latencies = []
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < until:
            started = time.perf_counter()
            client.get(f"{url}/healthz")
            latencies.append(time.perf_counter() - started)
            time.sleep(POLL_EVERY)
    return latencies


def attack(url: str, key: str, document: str, until: float, took: list[float], tag: int) -> None:
    with httpx.Client(timeout=30) as client:
        for n in range(10_000):
            if time.monotonic() >= until:
                return
            started = time.perf_counter()
            client.post(
                f"{url}/graphql",
                json={"query": f"{document} # {tag}-{n}"},
                headers={"X-API-Key": key},
            )
            took.append(time.perf_counter() - started)


def row(name: str, latencies: list[float], took: list[float]) -> str:
    ms = [1000 * value for value in latencies]
    answer = f"{1000 * statistics.median(took):8.0f}" if took else f"{'-':>8}"
    return (
        f"{name:42} {statistics.median(ms):6.1f} {percentile(ms, 0.99):6.1f} {max(ms):6.1f}"
        f" {answer} {len(took):6}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--streams", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        database = Database(create_db_engine(f"sqlite:///{path}"))
        upgrade_to_head(database.engine)
        with database.scope() as session:
            key = create_api_key(session, name="bench", scopes="ADMIN").plaintext
        database.dispose()
        with served(Path(tmp) / "server.log", {"DATABASE_URL": f"sqlite:///{path}"}) as server:
            time.sleep(2)  # the validation processes start in the background
            print(f"{'/healthz while …':42} {'p50':>6} {'p99':>6} {'max':>6} {'answer':>8} sent")
            print(f"{'':42} {'ms':>6} {'ms':>6} {'ms':>6} {'ms p50':>8}")
            idle = poll_healthz(server.url, time.monotonic() + args.seconds)
            print(row("idle", idle, []))
            for name, hostile in ATTACKS.items():
                until = time.monotonic() + args.seconds
                took: list[float] = []
                threads = [
                    threading.Thread(
                        target=attack, args=(server.url, key, hostile.document, until, took, n)
                    )
                    for n in range(args.streams)
                ]
                for thread in threads:
                    thread.start()
                latencies = poll_healthz(server.url, until)
                for thread in threads:
                    thread.join()
                print(row(name, latencies, took))


if __name__ == "__main__":
    main()
