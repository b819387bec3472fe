"""The tables, as SQLAlchemy 2 typed models."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from gql_server.db.folding import fold, folded_string
from gql_server.db.secret_box import STORED_MAX
from gql_server.db.types import CompressedJSON, UTCDateTime, utcnow

# Named constraints so Alembic can drop and alter them on every dialect (SQLite batch
# mode needs names to find them).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The folded copies are as wide as the columns they copy.
FOLDED_WIDTHS = {
    "name_folded": 100,
    "location_folded": 200,
    "user_folded": 100,
    "filename_folded": 500,
    "slicer_folded": 100,
    "filament_type_folded": 100,
}


# What the services keep for themselves beside a row's values: the digest an import
# compares and the folded copies filters compare. Written with the row, never read back
# as a value of the API.
BOOKKEEPING_COLUMNS = frozenset({"content_hash", *FOLDED_WIDTHS})
TIMESTAMP_COLUMNS = ("created_at", "updated_at")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def value_attributes(model: type[Base], *, besides: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The model's column attributes (Python names: ``job_metadata``, not ``metadata``)
    in declaration order, without its id, timestamps, bookkeeping and ``besides``."""
    left_out = {"id", *TIMESTAMP_COLUMNS, *BOOKKEEPING_COLUMNS, *besides}
    attributes = inspect(model).column_attrs.keys()
    return tuple(name for name in attributes if name not in left_out)


def column_names(model: type[Base]) -> dict[str, str]:
    """Attribute -> column name, for Core statements (``job_metadata`` is ``metadata``)."""
    return {attribute.key: attribute.columns[0].name for attribute in inspect(model).column_attrs}


class CreatedAtMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TimestampMixin(CreatedAtMixin):
    # After created_at, as the tables have it (a subclass's columns come before its base's).
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, sort_order=1
    )


class Printer(TimestampMixin, Base):
    __tablename__ = "printers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(200))
    # Case-folded copies that filters compare (db/folding.py), kept by the validators below.
    # Names are unique, and sorted, by their folded form: both databases refuse the same
    # names and list printers in the same order (code point order of the folded name).
    name_folded: Mapped[str] = mapped_column(
        folded_string(FOLDED_WIDTHS["name_folded"]), unique=True
    )
    location_folded: Mapped[str | None] = mapped_column(
        folded_string(FOLDED_WIDTHS["location_folded"]), index=True
    )
    moonraker_url: Mapped[str] = mapped_column(String(500))
    # Write-only: the API reports only whether it is set. Encrypted (db/secret_box.py).
    moonraker_api_key: Mapped[str | None] = mapped_column(String(STORED_MAX))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Sync bookkeeping. The watermark is the newest start time of a sync that finished:
    # a failed sync never moves it, so the next one re-reads from there (no gaps).
    sync_watermark: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A lease instead of a lock: one conditional UPDATE takes it on any database and in
    # any process; it lapses by itself if the process holding it dies.
    sync_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sync_lease_owner: Mapped[str | None] = mapped_column(String(36))
    # Which server process holds the printer's Moonraker websocket (services/live).
    live_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    live_lease_owner: Mapped[str | None] = mapped_column(String(36))
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sync_status: Mapped[str | None] = mapped_column(String(20))
    last_sync_error_code: Mapped[str | None] = mapped_column(String(50))
    last_sync_error_message: Mapped[str | None] = mapped_column(String(500))

    print_jobs: Mapped[list["PrintJob"]] = relationship(
        back_populates="printer", cascade="all, delete-orphan", passive_deletes=True
    )
    job_totals: Mapped["JobTotals | None"] = relationship(
        back_populates="printer", cascade="all, delete-orphan", passive_deletes=True
    )

    @validates("name", "location")
    def _keep_folded(self, key: str, value: str | None) -> str | None:
        """Every ORM write of a filtered text writes its folded copy too."""
        column = f"{key}_folded"
        setattr(self, column, fold(value, FOLDED_WIDTHS[column]))
        return value


class PrintJob(TimestampMixin, Base):
    """One job of a printer's Moonraker history.

    Moonraker restarts its job ids at 000001 after a history reset, so its id alone does
    not identify a job: the key is (printer, job id, start time). A reused id with a new
    start time is a new row; the same job seen again (even rewritten from in_progress to
    completed, which keeps its start time) is the same row.
    """

    __tablename__ = "print_jobs"
    __table_args__ = (
        UniqueConstraint("printer_id", "job_id", "start_time"),
        Index("ix_print_jobs_printer_id_status", "printer_id", "status"),
        # Every job ordering (services/job_queries.JobOrderField) has an index per printer
        # and one for the farm (start_time's is the column's own, index=True). Each also
        # orders ties by id: SQLite indexes end with the rowid and InnoDB's secondary
        # indexes with the primary key, so (printer_id, end_time) is read as
        # (printer_id, end_time, id) and a declared id would only repeat it.
        # Also holds what a maintenance task's odometers sum, after the id that orders
        # ties: a task's jobs since a time are summed from the index alone
        # (services/maintenance.py).
        Index(
            "ix_print_jobs_printer_id_start_time",
            "printer_id",
            "start_time",
            "id",
            "print_duration",
            "filament_used",
        ),
        Index("ix_print_jobs_printer_id_end_time", "printer_id", "end_time"),
        Index("ix_print_jobs_printer_id_total_duration", "printer_id", "total_duration"),
        Index("ix_print_jobs_printer_id_filament_used", "printer_id", "filament_used"),
        Index("ix_print_jobs_end_time", "end_time"),
        Index("ix_print_jobs_total_duration", "total_duration"),
        Index("ix_print_jobs_filament_used", "filament_used"),
        Index("ix_print_jobs_user_folded", "user_folded"),
        Index("ix_print_jobs_slicer_folded", "slicer_folded"),
        # filenameContains finds its files in print_files, then their jobs through this.
        Index("ix_print_jobs_file_id_start_time", "file_id", "start_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("printers.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(String(100))
    user: Mapped[str | None] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(50), index=True)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    print_duration: Mapped[float | None] = mapped_column(Double)
    total_duration: Mapped[float | None] = mapped_column(Double)
    filament_used: Mapped[float | None] = mapped_column(Double)
    # The farm's row of this job's filename (print_files): what filenameContains searches.
    file_id: Mapped[int] = mapped_column(ForeignKey("print_files.id"))
    # Moonraker's metadata of the job (metadata_documents); null when it had none.
    metadata_id: Mapped[int | None] = mapped_column(ForeignKey("metadata_documents.id"), index=True)
    # Digest of the values above, the metadata and the job's documents (job_documents)
    # as last imported: an import compares digests, not every column
    # (services.jobs.fingerprint).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # Case-folded copies that filters compare (db/folding.py), written with the row by
    # services.jobs; slicer_folded is the metadata's "slicer" key.
    user_folded: Mapped[str | None] = mapped_column(folded_string(FOLDED_WIDTHS["user_folded"]))
    slicer_folded: Mapped[str | None] = mapped_column(folded_string(FOLDED_WIDTHS["slicer_folded"]))

    printer: Mapped[Printer] = relationship(back_populates="print_jobs")
    job_details: Mapped["JobDetails | None"] = relationship(
        back_populates="print_job", cascade="all, delete-orphan", passive_deletes=True
    )
    document: Mapped["JobDocument | None"] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    metadata_document: Mapped["MetadataDocument | None"] = relationship()


class PrintFile(Base):
    """A file name the farm has printed, once however many jobs printed it: a farm
    prints the same few thousand files again and again, so a substring search reads
    this table, not every job. Rows are never deleted (a job refers to its file)."""

    __tablename__ = "print_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(500))
    # SHA-256 of the exact name: the unique key. A unique index on the name itself would
    # follow the column's collation (MariaDB's ignores case, and trailing spaces).
    filename_digest: Mapped[str] = mapped_column(String(64), unique=True)
    filename_folded: Mapped[str] = mapped_column(folded_string(FOLDED_WIDTHS["filename_folded"]))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MetadataDocument(Base):
    """A metadata document (Moonraker's file metadata, as JSON text), stored once however
    many jobs and details refer to it: every job of a file carries the same document, and
    a farm prints the same few thousand files again and again. Compressed; never
    deleted (rows refer to it)."""

    __tablename__ = "metadata_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the exact JSON text: the unique key a write looks the document up by.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    document: Mapped[Any] = mapped_column(CompressedJSON())


class JobDocument(Base):
    """A job's own JSON documents (auxiliary data), apart from the columns that queries
    scan, compressed."""

    __tablename__ = "job_documents"

    print_job_id: Mapped[int] = mapped_column(
        ForeignKey("print_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    auxiliary_data: Mapped[Any] = mapped_column(CompressedJSON(), nullable=True)


# Durations, lengths and weights are Double, not Float: MySQL's FLOAT is single precision
# and turns Moonraker's 1834.632296 mm into 1834.63 on the way in.


class JobDetails(TimestampMixin, Base):
    __tablename__ = "job_details"

    id: Mapped[int] = mapped_column(primary_key=True)
    print_job_id: Mapped[int] = mapped_column(
        ForeignKey("print_jobs.id", ondelete="CASCADE"), unique=True
    )
    layer_height: Mapped[float | None] = mapped_column(Double)
    first_layer_height: Mapped[float | None] = mapped_column(Double)
    nozzle_temp: Mapped[int | None] = mapped_column(Integer)
    bed_temp: Mapped[int | None] = mapped_column(Integer)
    print_speed: Mapped[int | None] = mapped_column(Integer)
    infill_percentage: Mapped[int | None] = mapped_column(Integer)
    infill_pattern: Mapped[str | None] = mapped_column(String(50))
    support_enabled: Mapped[bool | None] = mapped_column(Boolean)
    support_type: Mapped[str | None] = mapped_column(String(50))
    filament_type: Mapped[str | None] = mapped_column(String(100), index=True)
    filament_type_folded: Mapped[str | None] = mapped_column(
        folded_string(FOLDED_WIDTHS["filament_type_folded"]), index=True
    )
    filament_brand: Mapped[str | None] = mapped_column(String(200))
    filament_color: Mapped[str | None] = mapped_column(String(100))
    estimated_time: Mapped[int | None] = mapped_column(Integer)
    estimated_filament: Mapped[float | None] = mapped_column(Double)
    layer_count: Mapped[int | None] = mapped_column(Integer)
    object_height: Mapped[float | None] = mapped_column(Double)
    # The metadata the details were read from (rawMetadata): the importer's is the job's
    # own document (print_jobs.metadata_id), stored once.
    raw_metadata_id: Mapped[int | None] = mapped_column(
        ForeignKey("metadata_documents.id"), index=True
    )

    print_job: Mapped[PrintJob] = relationship(back_populates="job_details")


class JobTotals(Base):
    """Aggregates over a printer's jobs, recomputed in SQL after each import."""

    __tablename__ = "job_totals"

    id: Mapped[int] = mapped_column(primary_key=True)
    printer_id: Mapped[int] = mapped_column(
        ForeignKey("printers.id", ondelete="CASCADE"), unique=True
    )
    total_jobs: Mapped[int] = mapped_column(Integer, default=0)
    total_time: Mapped[float] = mapped_column(Double, default=0.0)
    total_print_time: Mapped[float] = mapped_column(Double, default=0.0)
    total_filament_used: Mapped[float] = mapped_column(Double, default=0.0)
    longest_job: Mapped[float] = mapped_column(Double, default=0.0)
    # The same figures over every job Moonraker counts in its own totals (all finished
    # statuses but interrupted; services/totals.py): what its totals are compared with.
    finished_jobs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    finished_time: Mapped[float] = mapped_column(Double, default=0.0, server_default="0")
    finished_print_time: Mapped[float] = mapped_column(Double, default=0.0, server_default="0")
    finished_filament_used: Mapped[float] = mapped_column(Double, default=0.0, server_default="0")
    longest_finished_job: Mapped[float] = mapped_column(Double, default=0.0, server_default="0")
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Moonraker's own totals, as last reported. They drift from its job list (deleting
    # jobs never lowers them; they count every finished status but interrupted), so
    # they are kept beside ours, never instead of them.
    moonraker_total_jobs: Mapped[int | None] = mapped_column(Integer)
    moonraker_total_time: Mapped[float | None] = mapped_column(Double)
    moonraker_total_print_time: Mapped[float | None] = mapped_column(Double)
    moonraker_total_filament_used: Mapped[float | None] = mapped_column(Double)
    moonraker_longest_job: Mapped[float | None] = mapped_column(Double)
    moonraker_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    printer: Mapped[Printer] = relationship(back_populates="job_totals")


class ApiKey(TimestampMixin, Base):
    """An API key; only the SHA-256 digest of the secret is ever stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Sized for what we display ("gqls_" + 8 characters of the secret), not the spec's 10.
    key_prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Space-separated scope names (READ, WRITE, ADMIN); ADMIN implies the others.
    scopes: Mapped[str] = mapped_column(String(64), default="READ", server_default="READ")


class SyncRun(Base):
    """One import attempt for one printer: the audit trail of syncs."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_printer_id_started_at", "printer_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("printers.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))  # running, succeeded, failed
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    jobs_seen: Mapped[int] = mapped_column(Integer, default=0)
    jobs_created: Mapped[int] = mapped_column(Integer, default=0)
    jobs_updated: Mapped[int] = mapped_column(Integer, default=0)
    details_extracted: Mapped[int] = mapped_column(Integer, default=0)
    requests_made: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(50))
    error_message: Mapped[str | None] = mapped_column(String(500))


class RollupKeys:
    """The job keys of the job rollups (``RollupColumns``) and of the cost rollups
    (``CostRollupColumns``), declared once so that the two stay keyed alike."""

    status: Mapped[str] = mapped_column(String(50), primary_key=True)
    has_filament_type: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    filament_type_folded: Mapped[str] = mapped_column(
        folded_string(FOLDED_WIDTHS["filament_type_folded"]), primary_key=True
    )
    # Byte for byte, like the folded copy: "PLA" and "pla" are two rows of one bucket.
    filament_type: Mapped[str] = mapped_column(folded_string(100), primary_key=True)


class RollupSums:
    """What a rollup row sums. Key columns cannot be NULL (a NULL never conflicts, so an
    upsert would add a row each time)."""

    job_count: Mapped[int] = mapped_column(Integer)
    print_time: Mapped[float] = mapped_column(Double)
    total_time: Mapped[float] = mapped_column(Double)
    filament_used: Mapped[float] = mapped_column(Double)


class RollupColumns(RollupKeys, RollupSums):
    """The job attributes the per-printer and per-day levels are keyed by besides their
    own: status as the jobs store it, and the filament type of the job's details as
    folded (the bucket and filter) and as spelled (the spelling a bucket shows). A job
    without a filament type has ``has_filament_type`` false and empty texts.
    """


class SlicerKey:
    """The slicer a whole-history level is keyed by besides: the job's ``slicer_folded``
    (the SLICER bucket and the slicer filter), ``has_slicer`` false and an empty text
    when it has none. Only the per-printer levels have it: the day levels would gain a
    row per slicer of every day for a grouping no calendar needs."""

    has_slicer: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    slicer_folded: Mapped[str] = mapped_column(
        folded_string(FOLDED_WIDTHS["slicer_folded"]), primary_key=True
    )


class JobRollupTotal(RollupColumns, SlicerKey, Base):
    """Each printer's jobs over their whole history (services/rollups)."""

    __tablename__ = "job_rollup_totals"

    printer_id: Mapped[int] = mapped_column(
        ForeignKey("printers.id", ondelete="CASCADE"), primary_key=True
    )


class JobRollupDay(RollupColumns, Base):
    """The farm's jobs per day (services/rollups): each job counts on its UTC day
    (``farm_zone`` false) and, unless the farm's zone is UTC, on its day in that zone."""

    __tablename__ = "job_rollup_days"

    farm_zone: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class JobRollupDayStatus(RollupSums, Base):
    """``job_rollup_days`` without the filament type: a calendar over the whole history
    sums one row per day and status instead of one per filament type as well."""

    __tablename__ = "job_rollup_day_statuses"

    farm_zone: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(50), primary_key=True)


class JobRollupState(Base):
    """The zone the rollups' farm-zone days were built in: one row, id 1."""

    __tablename__ = "job_rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    timezone: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobAnnotation(TimestampMixin, Base):
    """What a person says about a job after the fact (annotatePrintJob). A table of its
    own, keyed by the job's row: imports and live updates write print_jobs only, so a
    resync that rewrites a job never touches what was said about it."""

    __tablename__ = "job_annotations"

    print_job_id: Mapped[int] = mapped_column(
        ForeignKey("print_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    note: Mapped[str | None] = mapped_column(String(2000))
    # services.annotations.FailureReason's value; printStats groups and filters by it.
    failure_reason: Mapped[str | None] = mapped_column(String(32), index=True)
    rating: Mapped[int | None] = mapped_column(Integer)


class MaintenanceTask(TimestampMixin, Base):
    """Something to do on a printer every so many print hours, filament metres or days
    (services/maintenance.py). Its odometers are summed from the jobs, never counted."""

    __tablename__ = "maintenance_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    printer_id: Mapped[int] = mapped_column(
        ForeignKey("printers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    every_print_hours: Mapped[float | None] = mapped_column(Double)
    every_filament_meters: Mapped[float | None] = mapped_column(Double)
    every_days: Mapped[float | None] = mapped_column(Double)


class MaintenanceRecord(CreatedAtMixin, Base):
    """One time a maintenance task was done; the newest ``done_at`` resets its odometers."""

    __tablename__ = "maintenance_records"
    __table_args__ = (Index("ix_maintenance_records_task_id_done_at", "task_id", "done_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("maintenance_tasks.id", ondelete="CASCADE"))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(500))


class FileRollupSums:
    """What a per-file rollup row sums over its jobs (services/rollups/files.py):
    counts by the rule of printStats (completed; finished = not in progress), the print
    time of the completed jobs (what an average print takes), the filament of every
    job, and the newest start."""

    job_count: Mapped[int] = mapped_column(Integer)
    completed_count: Mapped[int] = mapped_column(Integer)
    finished_count: Mapped[int] = mapped_column(Integer)
    completed_print_time: Mapped[float] = mapped_column(Double)
    filament_used: Mapped[float] = mapped_column(Double)
    last_start: Mapped[datetime] = mapped_column(UTCDateTime())


class PrintFilePrinter(FileRollupSums, Base):
    """Each file's jobs on each printer: what ``files`` sums under a printer filter and
    where a file's printers are listed."""

    __tablename__ = "print_file_printers"
    __table_args__ = (Index("ix_print_file_printers_printer_id", "printer_id"),)

    file_id: Mapped[int] = mapped_column(ForeignKey("print_files.id"), primary_key=True)
    printer_id: Mapped[int] = mapped_column(
        ForeignKey("printers.id", ondelete="CASCADE"), primary_key=True
    )


class PrintFileTotal(FileRollupSums, Base):
    """Each file's jobs on every printer, with an index per ``files`` ordering: a page
    of files is an index range, however many jobs the farm holds. Ties are broken by
    file_id, which both databases keep at the end of each secondary index."""

    __tablename__ = "print_file_totals"
    __table_args__ = (
        Index("ix_print_file_totals_job_count", "job_count"),
        Index("ix_print_file_totals_last_start", "last_start"),
        Index("ix_print_file_totals_filament_used", "filament_used"),
        Index("ix_print_file_totals_success_rate", "success_rate"),
    )

    file_id: Mapped[int] = mapped_column(
        ForeignKey("print_files.id"), primary_key=True, autoincrement=False
    )
    # completed_count / finished_count, NULL without a finished job: stored so that the
    # SUCCESS_RATE ordering reads an index; rewritten with the counts.
    success_rate: Mapped[float | None] = mapped_column(Double)


class FilamentPrice(Base):
    """A filament type's price from ``effective_from`` until the next row of its type:
    setting a price adds a row, so a job keeps the price in force when it started."""

    __tablename__ = "filament_prices"
    __table_args__ = (
        Index(
            "ix_filament_prices_filament_type_folded_effective_from",
            "filament_type_folded",
            "effective_from",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filament_type: Mapped[str] = mapped_column(String(100))
    # Matched against job_details.filament_type_folded: "PLA" prices "pla" jobs too.
    filament_type_folded: Mapped[str] = mapped_column(
        folded_string(FOLDED_WIDTHS["filament_type_folded"])
    )
    price_per_kg: Mapped[float] = mapped_column(Double)
    currency: Mapped[str] = mapped_column(String(3))
    density_g_per_cm3: Mapped[float] = mapped_column(Double)
    diameter_mm: Mapped[float] = mapped_column(Double)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())


class PrinterHourlyRate(Base):
    """A printer's machine cost per hour (electricity, wear) from ``effective_from``
    until its next row; a null rate means none from then on."""

    __tablename__ = "printer_hourly_rates"
    __table_args__ = (
        Index("ix_printer_hourly_rates_printer_id_effective_from", "printer_id", "effective_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("printers.id", ondelete="CASCADE"))
    hourly_cost: Mapped[float | None] = mapped_column(Double)
    currency: Mapped[str] = mapped_column(String(3))
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())


class JobCost(Base):
    """A job's cost, computed when the job is written from the prices in force at its
    start (services/job_costs.py) and kept: queries never look prices up again, and a
    Spoolman spool's price is a snapshot taken at import."""

    __tablename__ = "job_costs"

    print_job_id: Mapped[int] = mapped_column(
        ForeignKey("print_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    filament_grams: Mapped[float | None] = mapped_column(Double)
    filament_cost: Mapped[float | None] = mapped_column(Double)
    machine_cost: Mapped[float | None] = mapped_column(Double)
    currency: Mapped[str] = mapped_column(String(3))
    # Where the filament price came from: FILAMENT_TYPE, SPOOL, or why none applied.
    filament_price_source: Mapped[str] = mapped_column(String(30))
    # The job's rollup keys when its cost was written: what its cost rollup rows hold
    # (services/rollups/costs.py), taken back exactly when the cost is rewritten.
    printer_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(50))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime())
    filament_type: Mapped[str | None] = mapped_column(String(100))
    filament_type_folded: Mapped[str | None] = mapped_column(
        folded_string(FOLDED_WIDTHS["filament_type_folded"])
    )
    slicer_folded: Mapped[str | None] = mapped_column(folded_string(FOLDED_WIDTHS["slicer_folded"]))
    filament_price_id: Mapped[int | None] = mapped_column(
        ForeignKey("filament_prices.id", ondelete="SET NULL")
    )
    # The Spoolman spool of the job and what Spoolman said of it at import.
    spool_id: Mapped[int | None] = mapped_column(Integer)
    spool_status: Mapped[str | None] = mapped_column(String(20))
    spool_price_per_kg: Mapped[float | None] = mapped_column(Double)
    spool_density_g_per_cm3: Mapped[float | None] = mapped_column(Double)
    spool_diameter_mm: Mapped[float | None] = mapped_column(Double)


class CostRollupSums:
    """What a cost rollup row sums over the jobs that have a cost (job_costs rows):
    ``priced_jobs`` counts those with a filament cost."""

    job_count: Mapped[int] = mapped_column(Integer)
    priced_jobs: Mapped[int] = mapped_column(Integer)
    filament_cost: Mapped[float] = mapped_column(Double)
    machine_cost: Mapped[float] = mapped_column(Double)


class CostRollupColumns(RollupKeys, CostRollupSums):
    """The job keys of ``RollupColumns``, for the costs (kept apart from the job
    rollups: their levels are rebuilt by code that predates costs)."""


class JobCostRollupTotal(CostRollupColumns, SlicerKey, Base):
    """Each printer's job costs over its whole history, as ``job_rollup_totals``."""

    __tablename__ = "job_cost_rollup_totals"

    printer_id: Mapped[int] = mapped_column(
        ForeignKey("printers.id", ondelete="CASCADE"), primary_key=True
    )


class JobCostRollupDay(CostRollupColumns, Base):
    """The farm's job costs per day, as ``job_rollup_days`` (UTC and farm-zone days)."""

    __tablename__ = "job_cost_rollup_days"

    farm_zone: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
