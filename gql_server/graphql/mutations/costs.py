"""setFilamentPrice: a new price of a filament type, in force from now."""

from dataclasses import fields

import strawberry

from gql_server.graphql.context import Info
from gql_server.graphql.mutations.outcome import attempt
from gql_server.graphql.permissions import write_mutation
from gql_server.graphql.types.cost import FilamentPrice, filament_price_from_row
from gql_server.graphql.types.user_error import UserError
from gql_server.services import cost_rules, prices
from gql_server.services.prices import NewFilamentPrice


@strawberry.input(
    description="A filament type's price from now on; jobs that started earlier keep the "
    "price that was in force then."
)
class SetFilamentPriceInput:
    filament_type: str = strawberry.field(
        description=f"As in the job details, ignoring case; at most "
        f"{prices.FILAMENT_TYPE_MAX} characters."
    )
    price_per_kg: float = strawberry.field(
        description=f"{prices.PRICE_PER_KG.text}, in the currency below."
    )
    currency: str = strawberry.field(
        description="ISO 4217 code; must be the farm's GQL_CURRENCY (CURRENCY_MISMATCH "
        "otherwise), so that no sum mixes currencies."
    )
    density_g_per_cm3: float = strawberry.field(
        default=cost_rules.DEFAULT_DENSITY,
        name="densityGPerCm3",
        description=f"{prices.DENSITY.text}.",
    )
    diameter_mm: float = strawberry.field(
        default=cost_rules.DEFAULT_DIAMETER,
        description=f"{prices.DIAMETER.text}.",
    )

    def to_service(self) -> NewFilamentPrice:
        """Field by field: the input and the service's price share their names."""
        return NewFilamentPrice(**{f.name: getattr(self, f.name) for f in fields(NewFilamentPrice)})


@strawberry.type
class FilamentPricePayload:
    filament_price: FilamentPrice | None
    user_errors: list[UserError]


@strawberry.type
class CostMutations:
    @write_mutation(
        "Set a filament type's price from now on (a new version; earlier jobs keep theirs)."
    )
    async def set_filament_price(
        self, info: Info, input: SetFilamentPriceInput
    ) -> FilamentPricePayload:
        new = input.to_service()
        currency, now = info.context.settings.currency, info.context.now()
        outcome = await attempt(
            lambda: info.context.write(
                lambda s: filament_price_from_row(
                    prices.set_filament_price(s, new, farm_currency=currency, now=now)
                )
            )
        )
        return FilamentPricePayload(filament_price=outcome.value, user_errors=outcome.user_errors)
