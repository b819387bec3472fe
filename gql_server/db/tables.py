"""The mapped classes' tables, typed as ``Table`` for Core statements.

Declarative types ``Model.__table__`` as ``FromClause``; upserts, ``insert().from_select``
and ``table.c[name]`` want the ``Table`` it is. The cast is made here, once per table a
service reads or writes through Core, instead of at every statement.
"""

from typing import cast

from sqlalchemy import Table

from gql_server.db.models import (
    JobAnnotation,
    JobCostRollupDay,
    JobCostRollupTotal,
    JobDetails,
    JobDocument,
    JobRollupDay,
    JobRollupDayStatus,
    JobRollupTotal,
    JobTotals,
    MetadataDocument,
    Printer,
    PrintFile,
    PrintFilePrinter,
    PrintFileTotal,
    PrintJob,
)

PRINTERS = cast(Table, Printer.__table__)
PRINT_JOBS = cast(Table, PrintJob.__table__)
PRINT_FILES = cast(Table, PrintFile.__table__)
METADATA_DOCUMENTS = cast(Table, MetadataDocument.__table__)
JOB_DOCUMENTS = cast(Table, JobDocument.__table__)
JOB_DETAILS = cast(Table, JobDetails.__table__)
JOB_TOTALS = cast(Table, JobTotals.__table__)
JOB_ANNOTATIONS = cast(Table, JobAnnotation.__table__)
JOB_ROLLUP_TOTALS = cast(Table, JobRollupTotal.__table__)
JOB_ROLLUP_DAYS = cast(Table, JobRollupDay.__table__)
JOB_ROLLUP_DAY_STATUSES = cast(Table, JobRollupDayStatus.__table__)
PRINT_FILE_PRINTERS = cast(Table, PrintFilePrinter.__table__)
PRINT_FILE_TOTALS = cast(Table, PrintFileTotal.__table__)
JOB_COST_ROLLUP_TOTALS = cast(Table, JobCostRollupTotal.__table__)
JOB_COST_ROLLUP_DAYS = cast(Table, JobCostRollupDay.__table__)
