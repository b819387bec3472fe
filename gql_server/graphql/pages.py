"""Connection arguments (first/after/last/before, and a connection's filter and orderBy)
to keyset page arguments."""

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions.field_extension import FieldExtension
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField

from gql_server.graphql.cursors import MAX_CURSOR_LENGTH, decode_cursor
from gql_server.graphql.errors import ApiError, api_error
from gql_server.services.pagination import (
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
    PageArgs,
    PageArgumentError,
    SortKey,
    is_valid_position,
)

DEFAULT_PAGE_SIZE = 20

FilterT = TypeVar("FilterT")  # a service filter
OrderT = TypeVar("OrderT")  # a service order
ServiceT = TypeVar("ServiceT", covariant=True)

_CURSOR = f"a cursor this connection returned (at most {MAX_CURSOR_LENGTH} characters)."


def _argument(name: str, annotation: object, description: str | None = None) -> StrawberryArgument:
    return StrawberryArgument(
        python_name=name,
        graphql_name=None,
        type_annotation=StrawberryAnnotation(annotation),
        description=description,
        default=None,
    )


def page_arguments() -> list[StrawberryArgument]:
    """The Relay arguments with their bounds stated in the schema, in the order every
    connection field lists them before its own."""
    return [
        _argument(
            "first",
            int | None,
            f"Items after `after`: {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}; "
            f"{DEFAULT_PAGE_SIZE} when neither first nor last is given.",
        ),
        _argument("after", str | None, f"Start after {_CURSOR}"),
        _argument(
            "last", int | None, f"Items before `before`: {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}."
        ),
        _argument("before", str | None, f"End before {_CURSOR}"),
    ]


@dataclass(frozen=True, slots=True)
class PageWindow:
    """The Relay arguments as the client sent them; ``page_args`` validates them once
    the connection's ordering is known."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


PAGE_ARGUMENT_NAMES = tuple(argument.python_name for argument in page_arguments())


def _pop_window(kwargs: dict[str, Any]) -> PageWindow:
    """The four Relay arguments taken out of a field's converted arguments."""
    return PageWindow(*(kwargs.pop(name, None) for name in PAGE_ARGUMENT_NAMES))


class ServiceInput(Protocol[ServiceT]):
    """A filter or order input: what the services take is its ``to_service()``."""

    def to_service(self) -> ServiceT: ...


@dataclass(frozen=True, slots=True)
class PageRequest(Generic[FilterT, OrderT]):
    """A connection's arguments as the services take them."""

    filter: FilterT
    order: OrderT
    args: PageArgs


@dataclass(frozen=True, slots=True)
class ConnectionArgs(Generic[FilterT, OrderT]):
    """A filtered connection's arguments as the client sent them; an absent filter or
    order is its input's defaults. Each connection declares a subclass naming its
    inputs in ``inputs`` (a plain class: Strawberry refuses a generic alias as a
    resolver's parameter type, even one FilteredPageArguments takes away)."""

    inputs: ClassVar[tuple[type[ServiceInput[Any]], type[ServiceInput[Any]]]]
    window: PageWindow
    filter: ServiceInput[FilterT]
    order_by: ServiceInput[OrderT]

    def to_service(self) -> PageRequest[FilterT, OrderT]:
        """The filter first (it may be refused), then the order and the page within it."""
        service_filter = self.filter.to_service()
        order = self.order_by.to_service()
        return PageRequest(service_filter, order, page_args(self.window, order))


class PageArguments(FieldExtension):
    """Gives a connection field the four Relay arguments, before its resolver's own, and
    hands them to the resolver as one ``window: PageWindow``.

    Strawberry's documented way to reshape a field's arguments, as its relay
    ConnectionExtension and InputMutationExtension do: ``apply`` sets
    ``field.arguments`` when a schema is built, ``map_arguments`` maps the converted
    values before each call. It has no resolve wrapper, so the call path is unchanged.
    """

    parameter = "window"

    def apply(self, field: StrawberryField) -> None:
        own = field.arguments
        if (
            tuple(argument.python_name for argument in own[: len(PAGE_ARGUMENT_NAMES)])
            == PAGE_ARGUMENT_NAMES
        ):
            return  # another schema was built from the same type
        if not any(argument.python_name == self.parameter for argument in own):
            raise TypeError(f"{field.python_name} is paged but takes no `{self.parameter}`")
        rest = [argument for argument in own if argument.python_name != self.parameter]
        field.arguments = [*page_arguments(), *self.connection_arguments(), *rest]

    def connection_arguments(self) -> list[StrawberryArgument]:
        return []

    def map_arguments(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        window = _pop_window(kwargs)
        return {**kwargs, self.parameter: window}


class FilteredPageArguments(PageArguments):
    """PageArguments plus the connection's ``filter`` and ``orderBy``, declared with the
    field (as strawberry-django declares ``filters`` and ``order``) by the
    ConnectionArgs subclass the resolver takes as ``arguments``."""

    parameter = "arguments"

    def __init__(self, arguments: type[ConnectionArgs[Any, Any]]) -> None:
        self.arguments = arguments

    def connection_arguments(self) -> list[StrawberryArgument]:
        filter_input, order_input = self.arguments.inputs
        return [_argument("filter", filter_input | None), _argument("order_by", order_input | None)]

    def map_arguments(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        window = _pop_window(kwargs)
        filter_input, order_input = self.arguments.inputs
        given_filter = kwargs.pop("filter", None) or filter_input()
        given_order = kwargs.pop("order_by", None) or order_input()
        return {**kwargs, self.parameter: self.arguments(window, given_filter, given_order)}


def _decode(cursor: str | None, ordering: str, keys: list[SortKey]) -> tuple[Any, ...] | None:
    if cursor is None:
        return None
    position = decode_cursor(cursor, ordering, size=len(keys))
    if not is_valid_position(keys, position):
        raise ApiError("the cursor is not one this server issued", "INVALID_CURSOR")
    return position


def page_args(window: PageWindow, order: Any, keys: list[SortKey] | None = None) -> PageArgs:
    """Validate the Relay arguments: the page size first (PageArgs holds its range),
    then the cursors."""
    first = window.first
    if first is None and window.last is None:
        first = DEFAULT_PAGE_SIZE
    try:
        sizes = PageArgs(first=first, last=window.last)
    except PageArgumentError as refused:
        raise api_error(refused) from None
    ordering = str(order)
    keys = keys if keys is not None else order.sort_keys()
    return replace(
        sizes,
        after=_decode(window.after, ordering, keys),
        before=_decode(window.before, ordering, keys),
    )
