"""An export's keyset batches: small batches give the rows of one big batch, in order,
each once, whatever the order and wherever a batch boundary falls (among ties, at the
change from values to the NULLs that sort last)."""

import pytest

from gql_server.db.session import Database
from gql_server.graphql.job_export import QUERY_COLUMNS
from gql_server.services.errors import ValidationError
from gql_server.services.export import BatchArgs, job_batches
from gql_server.services.job_queries import JobFilter, JobOrder, JobOrderField
from tests.support.export_jobs import seed_jobs

ORDERS = [JobOrder(field, descending) for field in JobOrderField for descending in (True, False)]


def exported_ids(database: Database, order: JobOrder, size: int, **filters: object) -> list[int]:
    batches = job_batches(
        database.scope_run,
        job_filter=JobFilter(**filters),  # type: ignore[arg-type]
        order=order,
        columns=QUERY_COLUMNS,
        size=size,
    )
    return [row.id for batch in batches for row in batch.rows]


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: f"{o.field.name}-{o.descending}")
def test_small_batches_give_the_rows_of_one_batch(database: Database, order: JobOrder) -> None:
    seed_jobs(database, count=90)
    whole = exported_ids(database, order, 1000)
    assert exported_ids(database, order, 7) == whole
    assert sorted(whole) == sorted(set(whole)) and len(whole) == 90


def test_batches_of_a_filter_hold_only_its_jobs(database: Database) -> None:
    seed_jobs(database, count=60)
    order = JobOrder(JobOrderField.END_TIME, descending=False)
    completed = exported_ids(database, order, 1000, statuses=("completed",))
    assert exported_ids(database, order, 4, statuses=("completed",)) == completed
    assert 0 < len(completed) < 60


def test_a_batch_holds_1_to_10000_rows() -> None:
    with pytest.raises(ValidationError):
        BatchArgs(first=10_001)
