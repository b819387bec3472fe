"""Which fields a query selects below the current one, fragments included.

Loaders use this to fetch a whole level at once (a page of jobs together with their
details) instead of one awaitable per object.
"""

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def merged_selections(info: strawberry.Info) -> list[Selection]:
    """The selections under every occurrence of the current field. A field written
    twice, or reached through several fragments, is resolved once for all of them, so
    what it must load is the union of their selections."""
    return [selection for field in info.selected_fields for selection in field.selections]


def _children(selections: Iterable[Any], name: str) -> list[SelectedField]:
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            found.extend(_children(selection.selections, name))
        elif isinstance(selection, SelectedField) and selection.name == name:
            found.append(selection)
    return found


def selects(fields: Iterable[Any], *path: str) -> bool:
    """True when the selections ``fields`` contain ``path`` (GraphQL field names)."""
    level = list(fields)
    for name in path:
        matched = _children(level, name)
        if not matched:
            return False
        level = [selection for field in matched for selection in field.selections]
    return True


def field_names(fields: Iterable[Any], *path: str) -> set[str]:
    """Names of the fields selected at the end of ``path``."""
    level = list(fields)
    for name in path:
        level = [selection for field in _children(level, name) for selection in field.selections]
    return _names(level)


def _names(selections: Iterable[Any]) -> set[str]:
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            names |= _names(selection.selections)
        elif isinstance(selection, SelectedField):
            names.add(selection.name)
    return names


def node_field_names(fields: Iterable[Any], *path: str) -> set[str]:
    """Field names under a connection's ``nodes`` and ``edges { node }`` (then ``path``)."""
    return field_names(fields, "nodes", *path) | field_names(fields, "edges", "node", *path)


def selects_in_nodes(fields: Iterable[Any], *path: str) -> bool:
    """``path`` under a connection's ``nodes`` or ``edges { node }``."""
    return selects(fields, "nodes", *path) or selects(fields, "edges", "node", *path)
