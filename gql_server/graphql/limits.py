"""Static limits on an operation, measured on its document before anything executes.

The measurement is linear in the document's size. Each fragment is summarised once, in
dependency order (a fragment after every fragment it spreads), and a spread adds its
fragment's summary instead of walking the fragment again: a chain of fragments that
each spread the previous one twice costs one visit per fragment, not 2**n. Fragment
cycles and selection sets nested past ``MAX_NESTING`` are refused before any of this
(``check_structure``), and the walk counts its steps and refuses past ``MAX_WORK``; no
guard ever stops counting and lets the operation through.

Depth counts fields, not the inline fragments or spreads that wrap them. The subtrees
of the introspection fields ``__schema`` and ``__type`` are left out of depth and cost,
because GraphiQL's own introspection query nests ``ofType`` deeper than any data query
needs, and the token limit already bounds them; their aliases count, and they mark the
operation as introspection wherever they stand (fragments, aliases, nesting).

Cost model (GitHub's and Shopify's idea): a leaf costs 0, an object field 1 plus its
selection, a connection 1 plus its page size times the cost of what each node selects.
Nodes: the number of objects a connection can return, multiplied down nested
connections and summed (GitHub's node limit). A list of objects outside a connection
(``printStats``' buckets, ``syncPrinters``' results) counts as MAX_LIST_ITEMS objects
when its objects can nest further: otherwise a connection inside it would run once per
bucket while being charged once.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
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
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)

from gql_server.graphql.pages import DEFAULT_PAGE_SIZE
from gql_server.services.maintenance import TASKS_PER_PRINTER_MAX
from gql_server.services.pagination import MAX_PAGE_SIZE

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
PAGE_ARGUMENTS = ("first", "last")
# Selection sets inside selection sets, fields and inline fragments alike. Far above any
# real query (GraphiQL's introspection query nests 13), far below Python's recursion limit.
MAX_NESTING = 64
# Steps of one measurement: selections visited, each fragment once. A document within
# the token limit takes at most a few thousand.
MAX_WORK = 100_000
# Objects a list outside a connection is charged for; resolvers that return such a list
# refuse to return more (printStats: LIST_TOO_LONG).
MAX_LIST_ITEMS = 5000
# Lists bounded by what the services store, charged for that many objects instead:
# Printer.maintenance (createMaintenanceTask refuses more tasks per printer).
LIST_BOUNDS = {"maintenance": TASKS_PER_PRINTER_MAX}
# Sized fields: a connection's size comes from its first/last arguments (PAGED), a
# list's is its LIST_BOUNDS entry, else MAX_LIST_ITEMS.
PAGED = None


class DocumentRefused(Exception):
    """The document is refused before validation; ``code`` is the stable error code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Measure:
    """What a selection set adds where it stands: ``depth`` levels of fields, ``nodes``
    per object it is selected on."""

    depth: int = 0
    aliases: int = 0
    nodes: int = 0
    cost: int = 0
    introspection: bool = False

    def __add__(self, other: "Measure") -> "Measure":
        return Measure(
            depth=max(self.depth, other.depth),
            aliases=self.aliases + other.aliases,
            nodes=self.nodes + other.nodes,
            cost=self.cost + other.cost,
            introspection=self.introspection or other.introspection,
        )


def check_structure(document: DocumentNode) -> list[FragmentDefinitionNode]:
    """The document's fragments in dependency order; refuses selection sets nested past
    MAX_NESTING and fragment cycles. Iterative: no document can exhaust the stack."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    spreads: dict[str, list[str]] = {}
    for definition in document.definitions:
        names = _spread_names(getattr(definition, "selection_set", None))
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
            spreads.setdefault(definition.name.value, names)
    return [fragments[name] for name in _dependency_order(spreads)]


def _spread_names(selection_set: SelectionSetNode | None) -> list[str]:
    """Names spread anywhere in a selection set, after checking its nesting."""
    names: list[str] = []
    stack: list[tuple[SelectionSetNode, int]] = []
    if selection_set is not None:
        stack.append((selection_set, 1))
    while stack:
        current, level = stack.pop()
        if level > MAX_NESTING:
            raise DocumentRefused(
                f"selection sets are nested more than {MAX_NESTING} levels deep "
                "(fields and fragments)",
                "QUERY_TOO_DEEP",
            )
        for selection in current.selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append((selection.selection_set, level + 1))
    return names


def _dependency_order(spreads: Mapping[str, list[str]]) -> list[str]:
    """Depth-first post-order over the spread graph, with an explicit stack; a spread of
    a fragment still on the path is a cycle. Unknown fragments are validation's to
    report."""
    order: list[str] = []
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    for root in spreads:
        if root in state:
            continue
        state[root] = "open"
        path: list[tuple[str, Iterator[str]]] = [(root, iter(spreads[root]))]
        while path:
            name, children = path[-1]
            child = next(children, None)
            if child is None:
                path.pop()
                state[name] = "done"
                order.append(name)
            elif state.get(child) == "open":
                raise DocumentRefused(f"fragment {child!r} spreads itself", "FRAGMENT_CYCLE")
            elif child in spreads and child not in state:
                state[child] = "open"
                path.append((child, iter(spreads[child])))
    return order


def measure_operation(
    operation: OperationDefinitionNode,
    fragments_in_order: list[FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
    sized_fields: Mapping[str, int | None],
) -> Measure:
    """``fragments_in_order`` from ``check_structure``; ``sized_fields`` from
    ``sized_field_names``."""
    defaults = {
        definition.variable.name.value: definition.default_value
        for definition in operation.variable_definitions or ()
    }
    walk = _Walk(variables or {}, defaults, sized_fields)
    for fragment in fragments_in_order:
        walk.fragments[fragment.name.value] = walk.selection_set(fragment.selection_set)
    return walk.selection_set(operation.selection_set)


class _Walk:
    def __init__(
        self,
        variables: Mapping[str, Any],
        variable_defaults: Mapping[str, Any],
        sized_fields: Mapping[str, int | None],
    ) -> None:
        self.variables = variables
        self.variable_defaults = variable_defaults
        self.sized_fields = sized_fields
        self.fragments: dict[str, Measure] = {}
        self.steps = 0

    def selection_set(self, selection_set: SelectionSetNode | None) -> Measure:
        total = Measure()
        for selection in selection_set.selections if selection_set else ():
            self._step()
            if isinstance(selection, FieldNode):
                total += self.field(selection)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragments.get(selection.name.value, Measure())
        return total

    def field(self, node: FieldNode) -> Measure:
        inner = self.selection_set(node.selection_set)
        aliases = inner.aliases + (node.alias is not None)
        if node.name.value in INTROSPECTION_FIELDS:
            return Measure(aliases=aliases, introspection=True)
        if node.selection_set is None:
            return Measure(depth=1, aliases=aliases)
        page = self._page_size(node)
        if page is None:
            nodes, cost = inner.nodes, 1 + inner.cost
        else:
            nodes, cost = page + page * inner.nodes, 1 + page * inner.cost
        return Measure(1 + inner.depth, aliases, nodes, cost, inner.introspection)

    def _step(self) -> None:
        self.steps += 1
        if self.steps > MAX_WORK:
            raise DocumentRefused(
                f"measuring the query took more than {MAX_WORK} steps", "QUERY_BUDGET_EXCEEDED"
            )

    def _page_size(self, node: FieldNode) -> int | None:
        """The page size of a connection field (the default one without first/last),
        the bound of a sized list, None for a plain field. Out-of-range values are
        clamped here: the resolver refuses them."""
        name = node.name.value
        if name not in self.sized_fields:
            return None
        fixed = self.sized_fields[name]
        if fixed is not PAGED:
            return fixed
        arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
        for name in PAGE_ARGUMENTS:
            value = arguments.get(name)
            if isinstance(value, IntValueNode):
                return _clamp(int(value.value))
            if isinstance(value, VariableNode):
                return self._variable_page_size(value.name.value)
        return DEFAULT_PAGE_SIZE

    def _variable_page_size(self, name: str) -> int:
        """What graphql-core will coerce the variable to: the value sent (1.0 counts as
        1), else the variable's default, else no value at all (the default page size)."""
        if name in self.variables:
            given = self.variables[name]
            if given is None:
                return DEFAULT_PAGE_SIZE
            if isinstance(given, int) and not isinstance(given, bool):
                return _clamp(given)
            if isinstance(given, float) and given.is_integer():
                return _clamp(int(given))
            return MAX_PAGE_SIZE  # coercion will refuse it; measure the worst case meanwhile
        default = self.variable_defaults.get(name)
        if isinstance(default, IntValueNode):
            return _clamp(int(default.value))
        return DEFAULT_PAGE_SIZE


def _clamp(value: int) -> int:
    return max(0, min(value, MAX_PAGE_SIZE))


def sized_field_names(graphql_schema: GraphQLSchema) -> dict[str, int | None]:
    """Read from the built schema: fields whose type is a ``…Connection`` (PAGED), and
    lists of objects that can nest outside a connection (MAX_LIST_ITEMS). A
    connection's own ``nodes`` and ``edges`` are covered by its page size."""
    sizes: dict[str, int | None] = {}
    for graphql_type in graphql_schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue  # introspection is measured apart
        in_connection = graphql_type.name.endswith("Connection")
        for name, graphql_field in graphql_type.fields.items():
            item = get_named_type(graphql_field.type)
            if item.name.endswith("Connection"):
                sizes[name] = PAGED
            elif _is_list(graphql_field.type) and not in_connection and _nests(item):
                sizes[name] = LIST_BOUNDS.get(name, MAX_LIST_ITEMS)
    return sizes


def _is_list(graphql_type: Any) -> bool:
    return is_list_type(get_nullable_type(graphql_type))


def _nests(graphql_type: Any) -> bool:
    """An object type with a field that is not a leaf."""
    return isinstance(graphql_type, GraphQLObjectType) and any(
        not is_leaf_type(get_named_type(f.type)) for f in graphql_type.fields.values()
    )
