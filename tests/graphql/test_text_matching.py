"""One case rule for text filters on SQLite and MariaDB: Unicode case folding, accents
significant (db/folding.py). MariaDB's utf8mb4_unicode_ci alone would also ignore accents
and SQLite alone would ignore nothing; every test here runs on both."""

from datetime import UTC, datetime, timedelta
from typing import Any

from gql_server.db.session import Database
from gql_server.services.jobs import upsert_details, upsert_jobs
from tests.factories import make_printer
from tests.graphql.conftest import GraphQLClient

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# (user, filename, slicer, filament type) per job, all on one printer.
JOBS = (
    ("alice", "benchy.gcode", "OrcaSlicer", "PLA"),
    ("Alice", "Halterung für Kabelkanal.gcode", "orcaslicer", "pla"),
    ("ALICE", "Straße.gcode", "PrusaSlicer", "PETG"),
    ("Élodie", "pièces détachées/café.gcode", "Cura", "Ästhetik-PLA"),
    ("élodie", "vase.gcode", "Cura", None),
    ("José", "日本語/ケース_PLA.gcode", "SuperSlicer", "ABS"),
    ("Jose", "clip.gcode", None, "abs"),
    (None, "strasse.gcode", "PrusaSlicer", "PETG"),
)


def seed(database: Database) -> dict[str, int]:
    """The jobs above; each job's row id by its filename."""
    with database.scope() as session:
        printer_id = make_printer(session, "Lüfter-Voron", location="Küche").id
        make_printer(session, "prusa", location="KÜCHE")
        make_printer(session, "ender", location="Kuche")
        rows = [_row(index, job) for index, job in enumerate(JOBS)]
        result = upsert_jobs(session, printer_id, rows)
        ids = {row["filename"]: result.ids[(row["job_id"], row["start_time"])] for row in rows}
        upsert_details(
            session,
            [
                {"print_job_id": ids[filename], "filament_type": filament_type}
                for _, filename, _, filament_type in JOBS
                if filament_type is not None
            ],
        )
    return ids


def _row(index: int, job: tuple[str | None, str, str | None, str | None]) -> dict[str, Any]:
    user, filename, slicer, _ = job
    start = START + timedelta(hours=index)
    return {
        "job_id": f"{index + 1:06X}",
        "user": user,
        "filename": filename,
        "status": "completed",
        "start_time": start,
        "end_time": start + timedelta(minutes=30),
        "print_duration": 1000.0,
        "total_duration": 1100.0,
        "filament_used": 400.0,
        "job_metadata": {} if slicer is None else {"slicer": slicer},
        "auxiliary_data": None,
    }


JOB_FILENAMES = """
query ($filter: PrintJobFilter) {
  printJobs(first: 100, filter: $filter) { nodes { filename } }
}
"""
PRINTER_NAMES = """
query ($filter: PrinterFilter) { printers(first: 100, filter: $filter) { nodes { name } } }
"""


def filenames(gql: GraphQLClient, **job_filter: Any) -> set[str]:
    nodes = gql.execute(JOB_FILENAMES, {"filter": job_filter})["printJobs"]["nodes"]
    return {node["filename"] for node in nodes}


def printer_names(gql: GraphQLClient, **printer_filter: Any) -> set[str]:
    nodes = gql.execute(PRINTER_NAMES, {"filter": printer_filter})["printers"]["nodes"]
    return {node["name"] for node in nodes}


def test_user_ignores_case(gql: GraphQLClient, database: Database) -> None:
    seed(database)
    alices = {"benchy.gcode", "Halterung für Kabelkanal.gcode", "Straße.gcode"}
    assert {name: filenames(gql, user=name) for name in ("ALICE", "alice")} == {
        "ALICE": alices,
        "alice": alices,
    }


def test_user_folds_non_ascii_case_but_keeps_accents(
    gql: GraphQLClient, database: Database
) -> None:
    seed(database)
    returned = {name: filenames(gql, user=name) for name in ("ÉLODIE", "JOSÉ", "jose")}
    assert returned == {
        "ÉLODIE": {"pièces détachées/café.gcode", "vase.gcode"},
        "JOSÉ": {"日本語/ケース_PLA.gcode"},
        "jose": {"clip.gcode"},
    }


def test_filament_types_ignore_case(gql: GraphQLClient, database: Database) -> None:
    seed(database)
    returned = {
        "pla": filenames(gql, filamentTypes=["pla"]),
        "ästhetik-pla+ABS": filenames(gql, filamentTypes=["ÄSTHETIK-PLA", "ABS"]),
    }
    assert returned == {
        "pla": {"benchy.gcode", "Halterung für Kabelkanal.gcode"},
        "ästhetik-pla+ABS": {
            "pièces détachées/café.gcode",
            "日本語/ケース_PLA.gcode",
            "clip.gcode",
        },
    }


def test_slicer_ignores_case(gql: GraphQLClient, database: Database) -> None:
    seed(database)
    assert filenames(gql, slicer="ORCASLICER") == {
        "benchy.gcode",
        "Halterung für Kabelkanal.gcode",
    }


def test_filename_contains_folds_case_not_accents(gql: GraphQLClient, database: Database) -> None:
    seed(database)
    texts = ("FÜR", "fur", "STRASSE", "CAFÉ", "_pla")
    assert {text: filenames(gql, filenameContains=text) for text in texts} == {
        "FÜR": {"Halterung für Kabelkanal.gcode"},
        "fur": set(),
        "STRASSE": {"Straße.gcode", "strasse.gcode"},  # ß folds to ss
        "CAFÉ": {"pièces détachées/café.gcode"},
        "_pla": {"日本語/ケース_PLA.gcode"},  # "_" is no wildcard: "ästhetik-pla" stays out
    }


def test_printer_location_and_name_ignore_case(gql: GraphQLClient, database: Database) -> None:
    seed(database)
    returned = {
        "location": printer_names(gql, location="küche"),
        "nameContains": printer_names(gql, nameContains="LÜFTER"),
    }
    assert returned == {"location": {"Lüfter-Voron", "prusa"}, "nameContains": {"Lüfter-Voron"}}


def test_filament_types_differing_in_case_share_one_stats_bucket(
    gql: GraphQLClient, database: Database
) -> None:
    seed(database)
    query = "{ printStats(groupBy: FILAMENT_TYPE) { key jobCount } }"
    buckets = gql.execute(query)["printStats"]
    assert {bucket["key"]: bucket["jobCount"] for bucket in buckets} == {
        None: 1,
        "ABS": 2,
        "PETG": 2,
        "PLA": 2,
        "Ästhetik-PLA": 1,
    }


# Names whose order differed: SQLite sorted capitals first (bytes), MariaDB by its
# collation (ﬁ as "fi", ö as o). The one rule on both: code-point order of the folded
# name, so accented letters come after z.
ORDER_NAMES = ("ro", "Keyed", "STRASSE-2", "VORON", "vöron", "ﬁlament", "Ender", "éclair")
PRINTER_PAGE = """query ($after: String, $direction: OrderDirection!) {
  printers(first: 3, after: $after, orderBy: {field: NAME, direction: $direction}) {
    nodes { name } pageInfo { hasNextPage endCursor } } }"""


def test_printers_sort_by_name_the_same_on_every_database(
    gql: GraphQLClient, database: Database
) -> None:
    with database.scope() as session:
        for index, name in enumerate(ORDER_NAMES):
            make_printer(session, name, moonraker_url=f"http://127.0.0.1:{7000 + index}")
    expected = ["Ender", "ﬁlament", "Keyed", "ro", "STRASSE-2", "VORON", "vöron", "éclair"]
    for direction, names in (("ASC", expected), ("DESC", expected[::-1])):
        seen: list[str] = []
        after = None
        for _ in range(len(ORDER_NAMES)):  # pages of 3 cross every boundary
            page = gql.execute(PRINTER_PAGE, {"after": after, "direction": direction})
            seen += [node["name"] for node in page["printers"]["nodes"]]
            if not page["printers"]["pageInfo"]["hasNextPage"]:
                break
            after = page["printers"]["pageInfo"]["endCursor"]
        assert seen == names
