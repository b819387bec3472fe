"""createPrinter, updatePrinter, deletePrinter: payloads with userErrors, never exceptions."""

import strawberry
from sqlalchemy.orm import Session
from strawberry import UNSET

from gql_server.db.secret_box import secret_box_for
from gql_server.graphql.context import Info
from gql_server.graphql.mutations.outcome import attempt, input_id
from gql_server.graphql.permissions import write_mutation
from gql_server.graphql.types.printer import Printer, printer_from_row
from gql_server.graphql.types.user_error import UserError
from gql_server.services import prices, printers
from gql_server.services.errors import ValidationError
from gql_server.services.printers import PrinterChanges, PrinterUpdate

URL_RULE = (
    "An http(s) URL. Loopback, link-local (cloud metadata too), unspecified, multicast "
    "and broadcast addresses are refused with the userError ADDRESS_REFUSED unless the "
    "server's GQL_MOONRAKER_ALLOWED_NETWORKS allows them; private networks are allowed."
)
ORIGIN_CLEARS_KEY = (
    "Changing the URL's origin (scheme, host or port) clears the stored moonrakerApiKey "
    "unless this input sets a new one; the payload's moonrakerApiKeyCleared says so."
)
NAME_BOUND = f"At most {printers.NAME_MAX} characters."
LOCATION_BOUND = f"At most {printers.LOCATION_MAX} characters."


@strawberry.input
class CreatePrinterInput:
    name: str = strawberry.field(description=NAME_BOUND)
    moonraker_url: str = strawberry.field(description=URL_RULE)
    location: str | None = strawberry.field(default=None, description=LOCATION_BOUND)
    moonraker_api_key: str | None = strawberry.field(
        default=None, description="Sent to Moonraker as X-Api-Key; write-only."
    )
    is_active: bool = True


@strawberry.input(description="Omitted fields are left as they are; null clears a field.")
class UpdatePrinterInput:
    id: strawberry.ID
    name: str | None = strawberry.field(default=UNSET, description=NAME_BOUND)
    moonraker_url: str | None = strawberry.field(
        default=UNSET, description=f"{URL_RULE} {ORIGIN_CLEARS_KEY}"
    )
    location: str | None = strawberry.field(default=UNSET, description=LOCATION_BOUND)
    moonraker_api_key: str | None = strawberry.field(
        default=UNSET,
        description="Sent to Moonraker as X-Api-Key; write-only; null clears it. "
        + ORIGIN_CLEARS_KEY,
    )
    is_active: bool | None = UNSET
    hourly_cost: float | None = strawberry.field(
        default=UNSET,
        description="Machine cost per hour (electricity, wear) in the farm's currency, "
        "from now on: jobs that started earlier keep the rate in force then. Null: no "
        f"rate from now on. {prices.HOURLY_COST.text}.",
    )


@strawberry.input
class DeletePrinterInput:
    id: strawberry.ID


@strawberry.type
class PrinterPayload:
    printer: Printer | None
    user_errors: list[UserError]
    moonraker_api_key_cleared: bool = strawberry.field(
        default=False,
        description="True when this update removed the stored Moonraker API key: asked "
        "for with moonrakerApiKey null, or because moonrakerUrl moved to another origin "
        "(scheme, host or port) and no new key came with it. Always false for createPrinter.",
    )


@strawberry.type
class DeletePrinterPayload:
    deleted_printer_id: strawberry.ID | None
    user_errors: list[UserError]


def _changes(data: UpdatePrinterInput) -> PrinterChanges:
    def given(value: object) -> bool:
        return value is not UNSET and value is not None

    return PrinterChanges(
        name=data.name if given(data.name) else None,
        moonraker_url=data.moonraker_url if given(data.moonraker_url) else None,
        location=data.location if given(data.location) else None,
        moonraker_api_key=data.moonraker_api_key if given(data.moonraker_api_key) else None,
        is_active=data.is_active if given(data.is_active) else None,
        clear_location=data.location is None,
        clear_moonraker_api_key=data.moonraker_api_key is None,
    )


def _refuse_null(data: UpdatePrinterInput) -> None:
    for field in ("name", "moonraker_url", "is_active"):
        if getattr(data, field) is None:
            name = _camel(field)
            raise ValidationError(f"{name} cannot be null", field=name, code="REQUIRED")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@strawberry.type
class PrinterMutations:
    @write_mutation()
    async def create_printer(self, info: Info, input: CreatePrinterInput) -> PrinterPayload:
        settings = info.context.settings
        outcome = await attempt(
            lambda: info.context.write(
                lambda s: printers.create_printer(
                    s,
                    name=input.name,
                    moonraker_url=input.moonraker_url,
                    location=input.location,
                    moonraker_api_key=input.moonraker_api_key,
                    is_active=input.is_active,
                    secret_box=secret_box_for(settings.secret_key),
                    allowed_networks=settings.moonraker_allowed_networks,
                )
            )
        )
        row = outcome.value
        printer = None if row is None else printer_from_row(row)
        return PrinterPayload(printer=printer, user_errors=outcome.user_errors)

    @write_mutation()
    async def update_printer(self, info: Info, input: UpdatePrinterInput) -> PrinterPayload:
        outcome = await attempt(lambda: _update(info, input))
        update = outcome.value
        if update is None:
            return PrinterPayload(printer=None, user_errors=outcome.user_errors)
        return PrinterPayload(
            printer=printer_from_row(update.printer),
            user_errors=[],
            moonraker_api_key_cleared=update.moonraker_api_key_cleared,
        )

    @write_mutation()
    async def delete_printer(self, info: Info, input: DeletePrinterInput) -> DeletePrinterPayload:
        outcome = await attempt(lambda: _delete(info, input))
        deleted = None if outcome.user_errors else input.id
        return DeletePrinterPayload(deleted_printer_id=deleted, user_errors=outcome.user_errors)


async def _update(info: Info, data: UpdatePrinterInput) -> PrinterUpdate:
    _refuse_null(data)
    printer_id = input_id(data.id, "Printer")
    changes = _changes(data)
    box = secret_box_for(info.context.settings.secret_key)
    allowed = info.context.settings.moonraker_allowed_networks
    currency, now = info.context.settings.currency, info.context.now()

    def update(session: Session) -> PrinterUpdate:
        done = printers.update_printer(
            session, printer_id, changes, secret_box=box, allowed_networks=allowed
        )
        if data.hourly_cost is not UNSET:
            prices.set_hourly_cost(
                session, printer_id, data.hourly_cost, farm_currency=currency, now=now
            )
        return done

    return await info.context.write(update)


async def _delete(info: Info, data: DeletePrinterInput) -> None:
    printer_id = input_id(data.id, "Printer")
    await info.context.write(lambda s: printers.delete_printer(s, printer_id))
