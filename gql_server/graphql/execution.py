"""Query execution with a fast path for plain leaf fields.

A fleet page resolves ~5,000 scalar and enum fields that only read an attribute of an
object we built (filename, status, layerHeight, ...). For each, graphql-core builds a
resolve-info object and Strawberry goes through three calls to reach ``getattr``, then
graphql-core unwraps the type in three more. Reading the attribute and coercing it
directly took the fleet query from ~145 to ~120 ms (bench/fleet_query.py), most of
what separated it from the 3.5x target.

Only fields that Strawberry itself would resolve with a bare ``getattr`` take the fast
path: no resolver, no field extensions or permissions, no arguments, a scalar or enum
type (possibly non-null), no exception handler on the schema, and no schema extension
that wraps resolvers. Every other field, ``__typename`` included, runs the standard way.
Results and errors are the same as graphql-core's own (tests/graphql/test_execution.py
runs queries through both and compares).
"""

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    is_leaf_type,
    is_object_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

# Key of the plan in a GraphQLField's ``extensions``, set once when the schema is built.
LEAF_PLAN = "gql_server.leaf_plan"


@dataclass(frozen=True, slots=True)
class LeafPlan:
    attribute: str  # the Python attribute holding the value
    leaf_type: GraphQLLeafType
    non_null: bool
    label: str  # "Type.field", for the non-null error


def plan_leaf_fields(schema: GraphQLSchema) -> int:
    """Mark every field that may take the fast path; returns how many were marked."""
    marked = 0
    for graphql_type in schema.type_map.values():
        if not is_object_type(graphql_type) or graphql_type.name.startswith("__"):
            continue
        for name, field in graphql_type.fields.items():
            plan = _leaf_plan(graphql_type, name, field)
            if plan is not None:
                field.extensions = {**field.extensions, LEAF_PLAN: plan}
                marked += 1
    return marked


def _leaf_plan(parent: GraphQLObjectType, name: str, field: Any) -> LeafPlan | None:
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
    leaf_type = field.type.of_type if non_null else field.type
    if not is_leaf_type(leaf_type):
        return None
    return LeafPlan(definition.python_name, leaf_type, non_null, f"{parent.name}.{name}")


class LeafFastPathExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with planned leaf fields read directly."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        field = parent_type.fields.get(field_details_list[0].node.name.value)
        plan = None if field is None else field.extensions.get(LEAF_PLAN)
        if plan is None or self._wraps_resolvers():
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        try:
            value = getattr(source, plan.attribute)
            if value is None:
                if plan.non_null:
                    raise TypeError(f"Cannot return null for non-nullable field {plan.label}.")
                return None
            return self.complete_leaf_value(plan.leaf_type, value)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.type, field_details_list, path)
            return None

    def _wraps_resolvers(self) -> bool:
        """A schema extension with a ``resolve`` hook must see every field."""
        manager = self.middleware_manager
        return manager is not None and bool(manager.middlewares)
