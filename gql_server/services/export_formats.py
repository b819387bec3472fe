"""The file formats of an export: rows of typed values in, encoded chunks out.

A value is None, a bool, an int, a float or a str. Each batch of rows becomes one chunk
of bytes, so a stream holds one batch's text at a time.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

Row = Sequence[Any]
Encoder = Callable[[Sequence[str], Iterable[Sequence[Row]]], Iterator[bytes]]

# A spreadsheet runs a cell that starts with one of these as a formula (=, + and - as
# arithmetic, @ as a function call); tab and carriage return lead to the same in some
# (OWASP's "CSV injection" list). A quote in front makes it text.
FORMULA_STARTS = frozenset(("=", "+", "-", "@", "\t", "\r"))
FORMULA_GUARD = "'"


def csv_cells(rows: Sequence[Row]) -> list[list[Any]]:
    """What the CSV holds for each value: text guarded against formulas, numbers as
    numbers (a negative number is not text), booleans as in JSON; None stays None,
    which the csv module writes as an empty cell. Inline, not a function per cell:
    the cells of a million rows are tens of millions of calls."""
    return [
        [
            (FORMULA_GUARD + value if value[:1] in FORMULA_STARTS else value)
            if value.__class__ is str
            else (("true" if value else "false") if value.__class__ is bool else value)
            for value in row
        ]
        for row in rows
    ]


def encode_csv(names: Sequence[str], batches: Iterable[Sequence[Row]]) -> Iterator[bytes]:
    """RFC 4180: a header row, fields quoted when they need it, CRLF line ends; UTF-8
    without a byte order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    yield _drain(buffer)
    for rows in batches:
        writer.writerows(csv_cells(rows))
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()


def encode_ndjson(names: Sequence[str], batches: Iterable[Sequence[Row]]) -> Iterator[bytes]:
    """One JSON object per line, keyed by ``names``, values as typed; UTF-8."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    for rows in batches:
        lines = [encoder.encode(dict(zip(names, row, strict=True))) for row in rows]
        yield ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str
    media_type: str
    encode: Encoder


CSV = ExportFormat("csv", "text/csv; charset=utf-8; header=present", encode_csv)
NDJSON = ExportFormat("ndjson", "application/x-ndjson", encode_ndjson)
FORMATS = {fmt.name: fmt for fmt in (CSV, NDJSON)}
