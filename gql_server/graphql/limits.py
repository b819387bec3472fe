"""Static limits on an operation, measured on its document before anything executes.

Depth, aliases, nodes and cost are computed in one walk over the operation, following
fragments. Nothing is skipped because of an operation's *name* (naming an operation
``__schema`` buys nothing); only the subtrees of the introspection fields ``__schema``
and ``__type`` are left out of depth and cost, because GraphiQL's own introspection
query nests ``ofType`` deeper than any data query needs, and the token limit already
bounds them.

Cost model (GitHub's and Shopify's idea): a leaf costs 0, an object field 1 plus its
selection, a connection 1 plus its page size times the cost of what each node selects.
Nodes: the number of objects a connection can return, multiplied down nested
connections and summed (GitHub's node limit).
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from gql_server.graphql.pages import DEFAULT_PAGE_SIZE
from gql_server.services.pagination import MAX_PAGE_SIZE

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
PAGE_ARGUMENTS = ("first", "last")
# Fragments can be spread in cycles in an invalid document; validation reports those,
# the walk only has to terminate.
MAX_WALK_DEPTH = 64


@dataclass(slots=True)
class Measure:
    depth: int = 0
    aliases: int = 0
    nodes: int = 0
    cost: int = 0
    introspection: bool = False


@dataclass(frozen=True, slots=True)
class _Walk:
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    connection_fields: frozenset[str]
    variable_defaults: Mapping[str, Any]


def measure_operation(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
    connection_fields: frozenset[str],
) -> Measure:
    """``connection_fields``: names of the fields that return a connection."""
    measure = Measure()
    defaults = {
        definition.variable.name.value: definition.default_value
        for definition in operation.variable_definitions or ()
    }
    walk = _Walk(fragments, variables or {}, connection_fields, defaults)
    measure.cost = _cost(walk, operation.selection_set, measure, depth=1, multiplier=1)
    return measure


def _fields(
    walk: _Walk, selection_set: SelectionSetNode | None, guard: int = 0
) -> Iterator[FieldNode]:
    """The fields of a selection set with fragments flattened in."""
    if selection_set is None or guard > MAX_WALK_DEPTH:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(walk, selection.selection_set, guard + 1)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = walk.fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(walk, fragment.selection_set, guard + 1)


def _cost(
    walk: _Walk,
    selection_set: SelectionSetNode | None,
    measure: Measure,
    *,
    depth: int,
    multiplier: int,
) -> int:
    """Cost of a selection set; records depth, aliases, nodes and introspection on the way."""
    if depth > MAX_WALK_DEPTH:
        return 0
    total = 0
    for node in _fields(walk, selection_set):
        if node.alias is not None:
            measure.aliases += 1
        name = node.name.value
        if name in INTROSPECTION_FIELDS:
            measure.introspection = True
            _count_aliases(walk, node.selection_set, measure)
            continue
        measure.depth = max(measure.depth, depth)
        if node.selection_set is None:
            continue
        page = _page_size(node, walk)
        if page is None:
            total += 1 + _cost(
                walk, node.selection_set, measure, depth=depth + 1, multiplier=multiplier
            )
            continue
        measure.nodes += multiplier * page
        inner = _cost(
            walk, node.selection_set, measure, depth=depth + 1, multiplier=multiplier * page
        )
        total += 1 + page * inner
    return total


def _count_aliases(
    walk: _Walk, selection_set: SelectionSetNode | None, measure: Measure, depth: int = 0
) -> None:
    if depth > MAX_WALK_DEPTH:
        return
    for node in _fields(walk, selection_set):
        if node.alias is not None:
            measure.aliases += 1
        _count_aliases(walk, node.selection_set, measure, depth + 1)


def _page_size(node: FieldNode, walk: _Walk) -> int | None:
    """The page size of a connection field (the default one without first/last), None
    for a plain field. Out-of-range values are clamped here: the resolver refuses them."""
    if node.name.value not in walk.connection_fields:
        return None
    arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
    for name in PAGE_ARGUMENTS:
        value = arguments.get(name)
        if isinstance(value, IntValueNode):
            return _clamp(int(value.value))
        if isinstance(value, VariableNode):
            return _variable_page_size(value.name.value, walk)
    return DEFAULT_PAGE_SIZE


def _variable_page_size(name: str, walk: _Walk) -> int:
    """What graphql-core will coerce the variable to: the value sent (1.0 counts as 1),
    else the variable's default, else no value at all (the default page size)."""
    if name in walk.variables:
        given = walk.variables[name]
        if given is None:
            return DEFAULT_PAGE_SIZE
        if isinstance(given, int | float) and not isinstance(given, bool) and given == int(given):
            return _clamp(int(given))
        return MAX_PAGE_SIZE  # coercion will refuse it; measure the worst case meanwhile
    default = walk.variable_defaults.get(name)
    if isinstance(default, IntValueNode):
        return _clamp(int(default.value))
    return DEFAULT_PAGE_SIZE


def _clamp(value: int) -> int:
    return max(0, min(value, MAX_PAGE_SIZE))


def connection_field_names(graphql_schema: GraphQLSchema) -> frozenset[str]:
    """Names of fields whose type is a ``…Connection``, read from the built schema."""
    names = set()
    for graphql_type in graphql_schema.type_map.values():
        if isinstance(graphql_type, GraphQLObjectType):
            for name, graphql_field in graphql_type.fields.items():
                if get_named_type(graphql_field.type).name.endswith("Connection"):
                    names.add(name)
    return frozenset(names)
