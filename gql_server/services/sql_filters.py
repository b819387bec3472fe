"""Filter conditions shared by the query services.

Text is matched case-insensitively, the same way on every database: against a column's
folded copy with the value folded in Python (db/folding.py).
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement

from gql_server.db.folding import fold

LIKE_ESCAPE = "\\"


def equals_folded(folded_column: Any, text: str) -> ColumnElement[bool]:
    """``text`` equals the column's text, ignoring case."""
    condition: ColumnElement[bool] = folded_column == fold(text, folded_column.type.length)
    return condition


def in_folded(folded_column: Any, texts: Sequence[str]) -> ColumnElement[bool]:
    """The column's text equals one of ``texts``, ignoring case."""
    condition: ColumnElement[bool] = folded_column.in_(
        sorted({fold(text, folded_column.type.length) for text in texts})
    )
    return condition


def contains(folded_column: Any, text: str) -> ColumnElement[bool]:
    """Substring match, ignoring case, where ``%`` and ``_`` in ``text`` match themselves."""
    folded = fold(text, trim=False) or ""
    escaped = folded.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    condition: ColumnElement[bool] = folded_column.like(f"%{escaped}%", escape=LIKE_ESCAPE)
    return condition
