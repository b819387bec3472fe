"""Filter conditions shared by the query services."""

from typing import Any

from sqlalchemy import ColumnElement

LIKE_ESCAPE = "\\"


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """Substring match where ``%`` and ``_`` in ``text`` match themselves."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape=LIKE_ESCAPE)
