"""Plain-text tables for the terminal, each column as wide as its widest cell.

Fixed widths broke ``api-key list``: an expiry timestamp is longer than its column, and
every cell after it slid right on that row only.

Cells hold text others chose (a key's or printer's name, a printer's error message), so
control characters are shown escaped: a newline would start a false row, ESC would drive
the operator's terminal."""

import unicodedata
from collections.abc import Sequence


def printable(text: str) -> str:
    """``text`` with each control character (newline, tab, ESC, DEL, C1) as ``\\xNN``."""
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) == "Cc"
        else char
        for char in text
    )


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    table = [tuple(header), *(tuple(printable(cell) for cell in row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )
