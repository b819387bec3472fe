"""Query execution with a fast path for plain fields.

A fleet page resolves thousands of fields that only read an attribute of an object we
built: scalars and enums (filename, status, layerHeight, ...) and objects (each job's
jobDetails and printer). For each, graphql-core builds a resolve-info object,
Strawberry goes through three calls to reach ``getattr``, and graphql-core unwraps the
type in several more. Reading the attribute and completing it directly cut the fleet
query by about a quarter (bench/fleet_query.py, with and without --no-fast-path,
measures it).

Only fields that Strawberry itself would resolve with a bare ``getattr`` are planned: no
resolver, no field extensions or permissions, no arguments, and a scalar, enum or object
type (possibly non-null; no lists, interfaces or unions). An object type qualifies only
when checking a value's type needs no resolve info. Nothing takes the fast path while a
schema extension hooks ``resolve``. Every other field, ``__typename`` included, runs the
standard way. Results and errors are graphql-core's own (tests/graphql/test_execution.py
runs queries through both and compares).

The fast path overrides graphql-core's ``execute_field`` and reads Strawberry's
``DEFINITION_BACKREF`` and the name of its nested ``_get_basic_result``: internals, not
API. It is therefore only taken with the versions in TESTED_VERSIONS (pyproject.toml pins
the same ranges); outside them the schema runs the standard way and the app says so once
in the log. GQL_FAST_PATH=false turns it off as well.
"""

import functools
import importlib.metadata
import logging
import math
import re
import threading
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    ExecutionResult,
    ExperimentalIncrementalExecutionResults,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    is_leaf_type,
    is_object_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from gql_server.graphql.types.node import Node

log = logging.getLogger(__name__)

# Key of the plan in a GraphQLField's ``extensions``, set once when the schema is built.
FIELD_PLAN = "gql_server.field_plan"

# The versions the fast path was tested with: (lowest, first untested). pyproject.toml
# pins exactly these ranges (tests/graphql/test_execution.py compares the two).
TESTED_VERSIONS: Final[Mapping[str, tuple[str, str]]] = {
    "strawberry-graphql": ("0.341.2", "0.342"),
    "graphql-core": ("3.3.2", "3.4"),
}
_RELEASE = re.compile(r"\d+(\.\d+)*")


# graphql-core 3.3's memo of collected subfields (EventScopedExecutionContext).
_SUBFIELD_MEMO = "_relevant_sub_fields"


def _release(version: str) -> tuple[int, ...] | None:
    """The numbers of a final release; None for anything else (3.4.0rc1, 3.3.2+local),
    which is treated as untested."""
    if _RELEASE.fullmatch(version) is None:
        return None
    return tuple(int(part) for part in version.split("."))


def untested_versions(installed: Mapping[str, str | None]) -> list[str]:
    """One line per package whose installed version is outside its tested range."""
    untested = []
    for name, (lowest, first_untested) in TESTED_VERSIONS.items():
        version = installed.get(name)
        release = None if version is None else _release(version)
        low, high = _release(lowest), _release(first_untested)
        if release is None or low is None or high is None or not low <= release < high:
            untested.append(
                f"{name} {version or 'not installed'} (tested: >={lowest},<{first_untested})"
            )
    return untested


def installed_versions() -> dict[str, str | None]:
    """The installed version of each package in TESTED_VERSIONS."""
    versions: dict[str, str | None] = {}
    for name in TESTED_VERSIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@functools.cache
def untested_installed_versions() -> tuple[str, ...]:
    """Cached: the installed versions cannot change while the process runs."""
    return tuple(untested_versions(installed_versions()))


def fast_path_supported() -> bool:
    """Whether the installed versions are the tested ones. Silent: the module-level
    schema is built at import, before the server has configured its logging."""
    return not untested_installed_versions()


@functools.cache
def warn_if_fast_path_unsupported() -> None:
    """Said by the app factory, once per process however many apps it builds."""
    untested = untested_installed_versions()
    if untested:
        log.warning(
            "GraphQL fast path off: %s; fields run through graphql-core's standard "
            "execution (same answers, slower on large pages)",
            "; ".join(untested),
        )


class ResolutionTally:
    """Fields answered by the fast path since the process started, so that a test (or
    an operator) can tell it is taken. Each execution adds its count once, at the end:
    a lock per request, not per field."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0

    def add(self, count: int) -> None:
        with self._lock:
            self._total += count

    @property
    def total(self) -> int:
        return self._total


fast_path_resolutions: Final = ResolutionTally()


@dataclass(frozen=True, slots=True)
class FieldPlan:
    attribute: str  # the Python attribute holding the value
    non_null: bool
    label: str  # "Type.field", for the non-null error
    leaf_type: GraphQLLeafType | None = None  # a scalar or enum field...
    object_type: GraphQLObjectType | None = None  # ...or an object field
    # For a Strawberry enum: member -> GraphQL name. Strawberry's own coercion compares
    # the value with each of the enum's values in turn.
    enum_names: dict[Any, str] | None = None
    # The Python type whose values the scalar returns unchanged (str for String).
    plain: type | None = None


def plan_fields(schema: GraphQLSchema) -> int:
    """Mark every field that may take the fast path; returns how many were marked."""
    marked = 0
    for graphql_type in schema.type_map.values():
        if not is_object_type(graphql_type) or graphql_type.name.startswith("__"):
            continue
        for name, field in graphql_type.fields.items():
            plan = _plan(graphql_type, name, field)
            if plan is not None:
                field.extensions = {**field.extensions, FIELD_PLAN: plan}
                marked += 1
    return marked


def _plan(parent: GraphQLObjectType, name: str, field: Any) -> FieldPlan | None:
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or field.args:
        return None
    if not definition.is_basic_field or definition.default_resolver is not getattr:
        return None
    # Strawberry marks the resolver it generates for a basic field; any other resolver
    # (one with exception handlers, say) is left alone.
    if getattr(field.resolve, "__name__", "") != "_get_basic_result":
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    named = field.type.of_type if non_null else field.type
    label = f"{parent.name}.{name}"
    if is_leaf_type(named):
        return FieldPlan(
            definition.python_name,
            non_null,
            label,
            leaf_type=named,
            enum_names=_enum_names(named),
            plain=_plain_type(named),
        )
    if is_object_type(named) and _type_check_needs_no_info(named):
        return FieldPlan(definition.python_name, non_null, label, object_type=named)
    return None


def _plain_type(leaf_type: GraphQLLeafType) -> type | None:
    """The type whose values graphql-core's own scalar returns unchanged. (Int and Float
    check a value's range and finiteness first.)"""
    if leaf_type is GraphQLString or leaf_type is GraphQLID:
        return str
    if leaf_type is GraphQLBoolean:
        return bool
    return None


def _enum_names(leaf_type: GraphQLLeafType) -> dict[Any, str] | None:
    members = getattr(leaf_type, "wrapped_cls", None)  # Strawberry's enum type
    if not isinstance(leaf_type, GraphQLEnumType) or members is None:
        return None
    by_value = {value.value: name for name, value in leaf_type.values.items()}
    return {member: by_value[member.value] for member in members if member.value in by_value}


def _type_check_needs_no_info(object_type: GraphQLObjectType) -> bool:
    """graphql-core passes the resolve info to ``is_type_of``; ours ignores it."""
    check = object_type.is_type_of
    # A classmethod read from its class is bound and has __func__; typeshed types it as a
    # plain callable.
    return check is None or getattr(check, "__func__", None) is Node.is_type_of.__func__  # type: ignore[attr-defined]


class EventScopedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Each subscription event gets its own memo of collected subfields.

    graphql-core 3.3 runs every event on a shallow copy of the subscription's executor,
    which shares the memo: keyed by the identity of each event's new field lists, it
    kept an entry per event for the life of the subscription, and a server streaming a
    farm's jobs grew without bound. The memo is private (``_relevant_sub_fields``),
    hence the check; graphql-core's version is pinned to the tested range, and
    tests/graphql/test_subscription_memory.py compares this with the standard copy.
    """

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        if hasattr(executor, _SUBFIELD_MEMO):
            setattr(executor, _SUBFIELD_MEMO, {})
        return executor


class FastPathExecutionContext(EventScopedExecutionContext):
    """Strawberry's execution context, with planned fields read directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A schema extension with a ``resolve`` hook must see every field.
        manager = self.middleware_manager
        self.fast_path = manager is None or not manager.middlewares
        self.fast_path_resolutions = 0

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        field = parent_type.fields.get(field_details_list[0].node.name.value)
        plan = None if field is None else field.extensions.get(FIELD_PLAN)
        if plan is None or not self.fast_path:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        self.fast_path_resolutions += 1
        try:
            value = getattr(source, plan.attribute)
            if value.__class__ is plan.plain:
                return value
            if not (isinstance(value, Exception) or self.is_awaitable(value)):
                return self._complete(
                    plan, field.type, value, field_details_list, path, position_context
                )
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.type, field_details_list, path)
            return None
        # graphql-core raises an exception held as a value and awaits an awaitable one;
        # none of our objects holds either, but the standard path knows what to do.
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def build_response(
        self, data: dict[str, Any] | None
    ) -> ExecutionResult | ExperimentalIncrementalExecutionResults:
        fast_path_resolutions.add(self.fast_path_resolutions)
        return super().build_response(data)

    def _complete(
        self,
        plan: FieldPlan,
        field_type: GraphQLOutputType,
        value: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        if value is None:
            if plan.non_null:
                raise TypeError(f"Cannot return null for non-nullable field {plan.label}.")
            return None
        if plan.object_type is None:
            return self._complete_leaf(plan, value)
        # No resolve info: planned object types are only those whose is_type_of ignores
        # it (_type_check_needs_no_info), and building one per object is what this saves.
        completed = self.complete_object_value(
            plan.object_type,
            field_details_list,
            None,  # type: ignore[arg-type]
            path,
            value,
            position_context,
        )
        if self.is_awaitable(completed):
            return self._await_completed(completed, field_type, field_details_list, path)
        return completed

    def _complete_leaf(self, plan: FieldPlan, value: Any) -> Any:
        names = plan.enum_names
        if names is not None and isinstance(value, Enum) and value in names:
            return names[value]
        # What graphql-core's Int and Float return unchanged: an int in 32 bits, a
        # finite float (a statistics calendar is thousands of them).
        if value.__class__ is float and plan.leaf_type is GraphQLFloat and math.isfinite(value):
            return value
        in_32_bits = value.__class__ is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT
        if in_32_bits and plan.leaf_type is GraphQLInt:
            return value
        # A plan without an object type has a leaf type; FieldPlan types both as optional.
        return self.complete_leaf_value(plan.leaf_type, value)  # type: ignore[arg-type]

    async def _await_completed(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: Any,
        path: Any,
    ) -> Any:
        """As graphql-core awaits an object whose sub-fields are asynchronous."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


class HideSuggestions(EventScopedExecutionContext):
    """For a server without introspection: coercion errors of variables must not
    suggest the names of fields or enum values."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        # graphql-core coerces the variables in build(), before __init__ runs.
        return super().build(*args, **{**kwargs, "hide_suggestions": True})


class SuggestionlessExecutionContext(HideSuggestions, FastPathExecutionContext):
    """The fast path, without suggestions."""


class SuggestionlessStandardExecutionContext(HideSuggestions):
    """graphql-core's standard execution, without suggestions."""


def execution_context_class(
    *, fast_path: bool, hide_suggestions: bool
) -> type[StrawberryGraphQLCoreExecutionContext]:
    """The class that executes the schema's operations."""
    if fast_path:
        return SuggestionlessExecutionContext if hide_suggestions else FastPathExecutionContext
    if hide_suggestions:
        return SuggestionlessStandardExecutionContext
    return EventScopedExecutionContext
