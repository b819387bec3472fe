"""Case-insensitive text matching that gives the same answer on SQLite and MariaDB.

The rule: a filter value matches a stored text when both are equal after Unicode case
folding (``str.casefold``: "ALICE" = "alice", "STRASSE" = "straße", "ÉCOLE" = "école"),
NFC normalisation and trimming. Accents stay significant ("José" ≠ "Jose").

Neither database can apply that rule by itself. MariaDB's utf8mb4_unicode_ci folds
case *and* accents and ignores trailing spaces; SQLite compares bytes, and its
``lower()`` and ``LIKE`` fold ASCII only. So Python folds once, on the way in, into a
``*_folded`` column that both databases compare byte for byte (utf8mb4_bin on MariaDB),
and folds the filter value the same way.
"""

import unicodedata
from typing import overload

from sqlalchemy import String
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

# utf8mb4_bin rather than utf8mb4_nopad_bin (MariaDB only): MySQL has it too, and its
# PAD SPACE never matters because folded values carry no trailing spaces.
BINARY_COLLATION = "utf8mb4_bin"


@overload
def fold(text: str, length: int | None = None, *, trim: bool = True) -> str: ...
@overload
def fold(text: None, length: int | None = None, *, trim: bool = True) -> None: ...
@overload
def fold(text: str | None, length: int | None = None, *, trim: bool = True) -> str | None: ...
def fold(text: str | None, length: int | None = None, *, trim: bool = True) -> str | None:
    """The folded form of ``text``, cut to ``length`` (the folded column's width:
    folding can lengthen a text, "ß" becomes "ss"); None stays None. ``trim=False``
    keeps outer spaces, for a substring that means them."""
    if text is None:
        return None
    folded = unicodedata.normalize("NFC", text.casefold())
    if trim:
        folded = folded.strip()
    return folded if length is None else folded[:length]


def folded_string(length: int) -> TypeEngine[str]:
    """VARCHAR(length) compared byte for byte on every database."""
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation=BINARY_COLLATION), "mysql", "mariadb"
    )
