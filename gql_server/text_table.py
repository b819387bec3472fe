"""Plain-text tables for the terminal, each column as wide as its widest cell.

Fixed widths broke ``api-key list``: an expiry timestamp is longer than its column, and
every cell after it slid right on that row only."""

from collections.abc import Sequence


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    table = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )
