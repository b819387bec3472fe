"""The batch upsert: new rows inserted, changed rows updated in place, constant SQL; jobs
of different printers never taken for one another."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from gql_server.db.models import Base, JobDetails, MetadataDocument, PrintFile, PrintJob
from gql_server.db.session import Database
from gql_server.services.job_queries import JobFilter, count_jobs, fetch_jobs_by_ids
from gql_server.services.jobs import (
    _ids_of,
    job_key,
    to_json,
    unfinished_jobs,
    upsert_details,
    upsert_jobs,
)
from tests.factories import make_job_row, make_printer
from tests.support.sql_counter import count_statements


def _jobs(database: Database) -> dict[str, PrintJob]:
    with database.scope() as session:
        return {job.job_id: job for job in session.scalars(select(PrintJob))}


def test_upsert_inserts_new_jobs_and_updates_existing_ones_in_place(database: Database) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id
        first = upsert_jobs(
            session, printer_id, [make_job_row(1, status="in_progress", end_time=None)]
        )
    before = _jobs(database)

    with database.scope() as session:
        second = upsert_jobs(session, printer_id, [make_job_row(1), make_job_row(2)])
    after = _jobs(database)

    assert (first.created, second.created, second.updated) == (1, 1, 1)
    assert after["000001"].id == before["000001"].id
    assert after["000001"].status == "completed"
    assert after["000001"].end_time is not None
    assert after["000001"].updated_at > before["000001"].updated_at
    assert after["000001"].created_at == before["000001"].created_at


def test_running_the_same_upsert_twice_changes_nothing(database: Database) -> None:
    rows = [make_job_row(i) for i in range(20)]
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, rows)
    before = {job_id: (j.id, j.updated_at) for job_id, j in _jobs(database).items()}

    with database.scope() as session:
        again = upsert_jobs(session, printer_id, rows)
    after = {job_id: (j.id, j.updated_at) for job_id, j in _jobs(database).items()}

    assert (again.created, again.updated, again.unchanged) == (0, 0, 20)
    assert after == before


def test_upsert_returns_the_row_id_of_every_job(database: Database) -> None:
    rows = [make_job_row(i) for i in range(5)]
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, rows[:2])
        result = upsert_jobs(session, printer_id, rows)
    stored = _jobs(database)
    assert sorted(result.ids.values()) == sorted(job.id for job in stored.values())


def _statements_for_upsert(
    database: Database, printer_name: str, size: int, *, known_files: bool = False
) -> int:
    """Statements of a batch of ``size`` jobs, 3 new and 2 changed; with ``known_files``
    the new jobs print files (and carry metadata) that earlier jobs printed."""

    def row(index: int, **overrides: Any) -> dict[str, Any]:
        if known_files:
            overrides |= {"filename": "part.gcode", "job_metadata": {"slicer": "PrusaSlicer"}}
        return make_job_row(index, **overrides)

    with database.scope() as session:
        printer_id = make_printer(session, printer_name).id
    with database.scope() as session:
        upsert_jobs(session, printer_id, [row(i) for i in range(size - 3)])
    # A batch that mixes new, changed and unchanged rows exercises every statement.
    rows = [row(i) for i in range(size - 5)]
    rows += [row(i, status="cancelled") for i in range(size - 5, size)]
    with database.scope() as session, count_statements(database.engine) as log:
        result = upsert_jobs(session, printer_id, rows)
    assert (result.created, result.updated) == (3, 2)
    return log.count


def test_upserting_500_jobs_issues_a_constant_number_of_statements(database: Database) -> None:
    small = _statements_for_upsert(database, "small", 10)
    large = _statements_for_upsert(database, "large", 500)
    # One SELECT of the rows held; one SELECT of the ids of the file names and metadata
    # documents held, an upsert of the new names, one of the new documents, one SELECT of
    # their ids; one INSERT … ON CONFLICT/DUPLICATE KEY of the jobs, which returns their
    # ids, one upsert of their auxiliary data (seven); for the rollups, the changed jobs'
    # contributions before (their after is known from the values written), the state row
    # locked, one upsert and one DELETE of emptied rows per level (eight); one upsert per
    # file level, which writes the file's success rate too (two; no job left a file); for
    # their costs (services/job_costs.py), the stored costs of the rewritten jobs (none
    # for new ones) and the printers' hourly rates (two: no filament type to price):
    # the same nineteen statements for 10 jobs and for 500.
    assert large == small == 19


def test_a_batch_of_files_the_farm_printed_before_looks_their_rows_up_once(
    database: Database,
) -> None:
    small = _statements_for_upsert(database, "small", 10, known_files=True)
    large = _statements_for_upsert(database, "large", 500, known_files=True)
    # As above, but one SELECT finds every file name and document: 16.
    assert large == small == 16


def test_without_returning_the_new_ids_are_read_back_to_the_same_rows(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MySQL 8 (and SQLite before 3.35) cannot return what an upsert wrote: one more
    SELECT finds the new rows' ids, and the rows and ids are the same."""
    _statements_for_upsert(database, "first", 10)  # the files are known from here on
    returned = _statements_for_upsert(database, "returned", 10)
    monkeypatch.setattr(database.engine.dialect, "insert_executemany_returning", False)
    read_back = _statements_for_upsert(database, "read back", 10)
    assert read_back == returned + 1
    rows = [make_job_row(i) for i in range(5)]
    with database.scope() as session:
        printer_id = make_printer(session, "ids").id
        upsert_jobs(session, printer_id, rows[:2])
        result = upsert_jobs(session, printer_id, rows)
    stored = {
        (job.job_id, job.start_time): job.id
        for job in _jobs(database).values()
        if job.printer_id == printer_id
    }
    assert result.ids == stored


# --- identity across printers: a job is (printer, job id, start time) -------------------


def _printer_ids_of(database: Database, row_ids: list[int]) -> set[int]:
    with database.scope() as session:
        query = select(PrintJob.printer_id).where(PrintJob.id.in_(row_ids))
        return set(session.scalars(query))


def test_the_same_job_id_and_start_on_two_printers_are_two_jobs(database: Database) -> None:
    rows = [make_job_row(i) for i in range(3)]
    with database.scope() as session:
        first, second = make_printer(session, "first").id, make_printer(session, "second").id
        upsert_jobs(session, first, rows)
        on_second = upsert_jobs(session, second, rows)
    assert (on_second.created, on_second.unchanged) == (3, 0)
    assert _printer_ids_of(database, list(on_second.ids.values())) == {second}


def test_new_ids_are_the_printers_own_when_another_printer_holds_the_same_jobs(
    database: Database,
) -> None:
    rows = [make_job_row(i) for i in range(3)]
    with database.scope() as session:
        first, second = make_printer(session, "first").id, make_printer(session, "second").id
        created = upsert_jobs(session, first, rows)
        upsert_jobs(session, second, rows)  # newer rows, same keys
        # The lookup of new ids, run again now that the other printer's rows come after.
        again = _ids_of(session, first, list(created.ids))
    assert again == created.ids


def test_a_job_in_progress_on_another_printer_is_not_this_printers(database: Database) -> None:
    running = make_job_row(1, status="in_progress", end_time=None)
    with database.scope() as session:
        first, second = make_printer(session, "first").id, make_printer(session, "second").id
        upsert_jobs(session, first, [running])
        upsert_jobs(session, second, [make_job_row(1)])  # same key, finished here
        unfinished = {
            first: unfinished_jobs(session, first),
            second: unfinished_jobs(session, second),
        }
    assert unfinished == {first: [job_key(running)], second: []}


def test_nan_and_infinity_in_the_json_columns_are_stored_as_null(database: Database) -> None:
    odd = {"slicer": "PrusaSlicer", "layer_height": float("nan"), "sizes": [float("inf"), 1.5]}
    aux = [{"provider": "sensor", "value": float("-inf")}]
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [make_job_row(1, job_metadata=odd, auxiliary_data=aux)])
    with database.scope() as session:
        (stored,) = fetch_jobs_by_ids(session, [_jobs(database)["000001"].id]).values()
    assert stored.job_metadata == {
        "slicer": "PrusaSlicer",
        "layer_height": None,
        "sizes": [None, 1.5],
    }
    assert stored.auxiliary_data == [{"provider": "sensor", "value": None}]


def test_an_empty_batch_issues_no_statement(database: Database) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id
    with database.scope() as session, count_statements(database.engine) as log:
        result = upsert_jobs(session, printer_id, [])
        details = upsert_details(session, [])
    assert (result.created, result.updated, result.unchanged, details, log.count) == (0, 0, 0, 0, 0)


def test_the_text_filters_find_what_an_upsert_wrote(database: Database) -> None:
    """User, file name and slicer (from the metadata) of the job, filament type of its
    details: each filter matches, ignoring case, what the batch wrote."""
    row = make_job_row(1, user="Ada", filename="Benchy.gcode")
    with database.scope() as session:
        printer_id = make_printer(session).id
        job_ids = upsert_jobs(session, printer_id, [row]).ids
        upsert_details(session, [{"print_job_id": job_ids[job_key(row)], "filament_type": "PETG"}])
    filters = [
        JobFilter(user="ada"),
        JobFilter(filename_contains="benchy"),
        JobFilter(slicer="prusaslicer"),
        JobFilter(filament_types=["petg"]),
    ]
    with database.scope() as session:
        assert [count_jobs(session, job_filter) for job_filter in filters] == [1, 1, 1, 1]


def test_texts_that_fold_longer_than_their_column_are_still_found(database: Database) -> None:
    """ "ß" folds to "ss": 60 of them fold to 120 characters, cut to the 100 the folded
    columns hold, as the filter value is."""
    long = "ß" * 60
    row = make_job_row(1, user=long, job_metadata={"slicer": long})
    with database.scope() as session:
        printer_id = make_printer(session).id
        job_ids = upsert_jobs(session, printer_id, [row]).ids
        upsert_details(session, [{"print_job_id": job_ids[job_key(row)], "filament_type": long}])
    filters = [
        JobFilter(user="SS" * 60),
        JobFilter(slicer="SS" * 60),
        JobFilter(filament_types=["SS" * 60]),
    ]
    with database.scope() as session:
        assert [count_jobs(session, job_filter) for job_filter in filters] == [1, 1, 1]


def test_a_job_whose_end_time_alone_changed_is_updated(database: Database) -> None:
    row = make_job_row(1)
    later = make_job_row(1, end_time=row["end_time"] + timedelta(seconds=30))
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [row])
        again = upsert_jobs(session, printer_id, [later])
    assert (again.updated, _jobs(database)["000001"].end_time) == (1, later["end_time"])


def test_raw_metadata_is_stored_whether_given_as_text_or_as_a_dict(database: Database) -> None:
    rows = [make_job_row(1), make_job_row(2)]
    with database.scope() as session:
        printer_id = make_printer(session).id
        ids = upsert_jobs(session, printer_id, rows).ids
        first, second = (ids[job_key(row)] for row in rows)
        upsert_details(
            session,
            [
                {"print_job_id": first, "raw_metadata_json": '{"slicer":"OrcaSlicer"}'},
                {"print_job_id": second, "raw_metadata": {"slicer": "Cura"}},
            ],
        )
    with database.scope() as session:
        jobs = fetch_jobs_by_ids(session, [first, second])
        stored = {job_id: row.details_raw_metadata for job_id, row in jobs.items()}
    assert stored == {first: {"slicer": "OrcaSlicer"}, second: {"slicer": "Cura"}}


def test_a_job_without_metadata_is_stored_without_a_slicer(database: Database) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [make_job_row(1, job_metadata=None)])
    assert _jobs(database)["000001"].slicer_folded is None


@pytest.mark.parametrize("slicer", [3, 1.5, True, ["PrusaSlicer"], {"name": "Cura"}])
def test_a_slicer_that_is_not_text_is_stored_as_no_slicer(database: Database, slicer: Any) -> None:
    """Metadata is the file's, written by any slicer or script: a number or a list
    under ``slicer`` is kept in the document but is no slicer to filter or group by."""
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [make_job_row(1, job_metadata={"slicer": slicer})])
    assert _jobs(database)["000001"].slicer_folded is None


# --- texts a farm repeats, stored once -----------------------------------------------


def _count(database: Database, model: type[Base]) -> int:
    with database.scope() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_jobs_of_one_file_share_its_name_and_metadata_document(database: Database) -> None:
    same = {"filename": "Benchy.gcode", "job_metadata": {"slicer": "Cura", "size": 1}}
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [make_job_row(i, **same) for i in range(3)])
        upsert_jobs(session, printer_id, [make_job_row(9, filename="benchy.gcode")])
    # "benchy.gcode" is another name (case counts), whose metadata is another text.
    assert (_count(database, PrintFile), _count(database, MetadataDocument)) == (2, 2)


def test_details_read_from_a_jobs_metadata_refer_to_its_document(database: Database) -> None:
    row = make_job_row(1)
    with database.scope() as session:
        printer_id = make_printer(session).id
        result = upsert_jobs(session, printer_id, [row])
        key = job_key(row)
        details = {"print_job_id": result.ids[key], "raw_metadata_id": result.metadata_ids[key]}
        upsert_details(session, [details])
        (stored,) = fetch_jobs_by_ids(session, [result.ids[key]]).values()
    assert stored.details_raw_metadata == stored.job_metadata == row["job_metadata"]
    assert _count(database, MetadataDocument) == 1


def test_details_keep_their_metadata_when_the_job_is_rewritten_without_them(
    database: Database,
) -> None:
    """As the importer leaves the details of a job whose metadata became empty."""
    row = make_job_row(1)
    with database.scope() as session:
        printer_id = make_printer(session).id
        result = upsert_jobs(session, printer_id, [row])
        key = job_key(row)
        details = {"print_job_id": result.ids[key], "raw_metadata_id": result.metadata_ids[key]}
        upsert_details(session, [details])
        upsert_jobs(session, printer_id, [{**row, "job_metadata": {}}])
        (stored,) = fetch_jobs_by_ids(session, [result.ids[key]]).values()
    assert (stored.job_metadata, stored.details_raw_metadata) == ({}, row["job_metadata"])


def test_details_without_raw_metadata_read_as_null(database: Database) -> None:
    row = make_job_row(1)
    with database.scope() as session:
        printer_id = make_printer(session).id
        job_pk = upsert_jobs(session, printer_id, [row]).ids[job_key(row)]
        upsert_details(session, [{"print_job_id": job_pk, "layer_height": 0.2}])
        (stored,) = fetch_jobs_by_ids(session, [job_pk]).values()
    assert (stored.details_id is not None, stored.details_raw_metadata) == (True, None)


def test_details_that_name_their_document_store_no_other(database: Database) -> None:
    """``raw_metadata_id`` wins over ``raw_metadata``, which is then not stored at all:
    a document nothing refers to would stay forever (documents are never deleted)."""
    row = make_job_row(1)
    with database.scope() as session:
        printer_id = make_printer(session).id
        result = upsert_jobs(session, printer_id, [row])
        key = job_key(row)
        details = {
            "print_job_id": result.ids[key],
            "raw_metadata_id": result.metadata_ids[key],
            "raw_metadata": {"slicer": "Cura"},
        }
        upsert_details(session, [details])
        (stored,) = fetch_jobs_by_ids(session, [result.ids[key]]).values()
    assert stored.details_raw_metadata == row["job_metadata"]
    assert _count(database, MetadataDocument) == 1


def test_details_written_again_replace_the_jobs_details(database: Database) -> None:
    row = make_job_row(1)
    with database.scope() as session:
        printer_id = make_printer(session).id
        job_pk = upsert_jobs(session, printer_id, [row]).ids[job_key(row)]
        upsert_details(session, [{"print_job_id": job_pk, "filament_type": "PLA"}])
        upsert_details(session, [{"print_job_id": job_pk, "filament_type": "PETG"}])
        (stored,) = fetch_jobs_by_ids(session, [job_pk]).values()
    assert (_count(database, JobDetails), stored.details_filament_type) == (1, "PETG")


def test_a_file_name_that_folds_longer_than_its_column_is_stored_and_found(
    database: Database,
) -> None:
    """500 "ß" (the name column's width) fold to 1,000 characters, cut to the 500 the
    folded column holds: MariaDB's strict mode refuses a longer value."""
    row = make_job_row(1, filename="ß" * 500)
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [row])
    with database.scope() as session:
        assert count_jobs(session, JobFilter(filename_contains="SS" * 250)) == 1


# --- texts and digests that earlier releases stored -----------------------------------


def test_json_texts_are_compact_as_stored_documents_are_keyed() -> None:
    """A metadata document is identified by the digest of this exact text (migration
    0009 keyed the documents already stored so): another spacing would store every
    document a second time after an upgrade. NaN takes the same form as null."""
    assert to_json({"a": [1, 2.5], "b": None}) == '{"a":[1,2.5],"b":null}'
    assert to_json({"a": float("nan"), "b": [float("inf")]}) == '{"a":null,"b":[null]}'


# Pinned: the digest is stored (print_jobs.content_hash), so another formula would make
# the first import after an upgrade rewrite, and report as updated, every job. A column
# added to print_jobs changes it on purpose (module comment in services/jobs.py): then
# pin the new value.
DIGEST_OF_JOB_1 = "964c6820939990310f3990ee14d8d62037a4466154ffb1ec3379ec00728c99d7"


def test_a_jobs_digest_is_the_one_earlier_releases_stored(database: Database) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [make_job_row(1)])
    assert _jobs(database)["000001"].content_hash == DIGEST_OF_JOB_1
