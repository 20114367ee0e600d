"""The plugin's GraphQL schema, also an Apollo Federation v1 subgraph.

It extends Saleor's ``Order`` (``@key(fields: "id")``) with ``deliveryCodes``, so a
storefront behind a gateway queries ``order { deliveryCodes { ... } }`` in one
schema; served alone, ``orderDeliveryCodes`` gives the same data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import graphene
from graphql import GraphQLError
from graphql.language import ast

from .. import models
from ..exceptions import DeliveryOTPError
from ..ports import OrderFacts, Requestor, RequestorKind
from . import context, sdl
from .driver_api import DriverMutations, DriverQueries
from .errors import permission_denied
from .mutations import Mutation, decode_uuid
from .types import DeliveryCode

SDL_PATH = Path(__file__).with_name("schema.graphql")

# A gateway asks for the orders of one storefront page: a handful.
MAX_ENTITIES = 10


def codes_of_order(
    info: Any, order_global_id: object, reveal_token: str | None
) -> list[Any]:
    """The order's current codes: each with its code for the customer it was issued
    to, all of them without codes for staff with MANAGE_ORDERS in its channel.

    Anyone else, including for an order that does not exist, gets the same refusal.
    Staff and apps never get a code, whatever they pass.
    """
    ctx = context.of(info)
    try:
        order_id = decode_uuid(order_global_id, "Order", "order_id")
    except DeliveryOTPError as error:
        raise GraphQLError(error.message) from None
    order = ctx.order(order_id)
    if order is None:
        raise permission_denied()
    records = list(
        models.DeliveryCode.objects.current().for_order(order_id).order_by("created_at")
    )
    if ctx.staff_reaches(order.channel):
        return records
    readable = [record for record in records if ctx.claim_code(record, reveal_token)]
    if readable or _is_current_account(ctx.requestor, order):
        # The order's account sees the codes issued to it (none, if it was
        # attached to the order after they were issued).
        return readable
    raise permission_denied()


def _is_current_account(requestor: Requestor, order: OrderFacts) -> bool:
    return (
        requestor.kind is RequestorKind.CUSTOMER
        and order.user_id is not None
        and requestor.identifier == order.user_id
    )


REVEAL_TOKEN_ARGUMENT = graphene.String(
    description=(
        "The reveal token of the link in the code's e-mail (the `delivery-code` "
        "fragment of the order page URL). Needed by guests; a signed-in customer "
        "sees the codes issued to her account without it."
    )
)


class Order(graphene.ObjectType):
    """Saleor's order, extended with its parcels' delivery codes."""

    id = graphene.ID(required=True, description="Saleor's ID of the order.")
    delivery_codes = graphene.List(
        graphene.NonNull(DeliveryCode),
        reveal_token=REVEAL_TOKEN_ARGUMENT,
        description=(
            "The delivery codes of the order's parcels. The customer each code was "
            "issued to sees it while it can be used; staff with MANAGE_ORDERS in the "
            "order's channel see status and attempts, never codes."
        ),
    )

    @staticmethod
    def resolve_delivery_codes(
        root: Any, info: Any, reveal_token: str | None = None
    ) -> Any:
        return codes_of_order(info, root.id, reveal_token)


class _Any(graphene.Scalar):
    """_Any value scalar as defined by Federation spec."""

    @staticmethod
    def serialize(value: Any) -> Any:
        return value

    @staticmethod
    def parse_value(value: Any) -> Any:
        return value

    @staticmethod
    def parse_literal(node: Any) -> Any:
        if isinstance(node, ast.ObjectValue):
            return {f.name.value: _Any.parse_literal(f.value) for f in node.fields}
        if isinstance(node, ast.ListValue):
            return [_Any.parse_literal(value) for value in node.values]
        return getattr(node, "value", None)


class _Entity(graphene.Union):
    """_Entity union as defined by Federation spec."""

    class Meta:
        types = (Order,)


class _Service(graphene.ObjectType):
    """_Service manifest as defined by Federation spec."""

    sdl = graphene.String(description="The subgraph's SDL.")


class Query(DriverQueries, graphene.ObjectType):
    order_delivery_codes = graphene.List(
        graphene.NonNull(DeliveryCode),
        order_id=graphene.ID(required=True, description="Saleor's ID of the order."),
        reveal_token=REVEAL_TOKEN_ARGUMENT,
        description=(
            "The delivery codes of an order's parcels ('track my package'). The "
            "customer each code was issued to sees it while it can be used; staff "
            "with MANAGE_ORDERS in the order's channel see status and attempts, "
            "never codes."
        ),
    )
    service = graphene.Field(_Service, name="_service", required=True)
    entities = graphene.Field(
        graphene.List(_Entity),
        name="_entities",
        required=True,
        representations=graphene.Argument(
            graphene.List(graphene.NonNull(_Any)), required=True
        ),
    )

    @staticmethod
    def resolve_order_delivery_codes(
        root: Any, info: Any, order_id: str, reveal_token: str | None = None
    ) -> Any:
        return codes_of_order(info, order_id, reveal_token)

    @staticmethod
    def resolve_service(root: Any, info: Any) -> _Service:
        return _Service(sdl=federation_sdl())

    @staticmethod
    def resolve_entities(root: Any, info: Any, representations: list[Any]) -> list[Any]:
        ctx = context.of(info)
        ctx.entities += len(representations)
        if ctx.entities > MAX_ENTITIES:
            # Checked before any order is looked up: one request, bounded work.
            raise GraphQLError(
                f"At most {MAX_ENTITIES} representations per request, batches included."
            )
        entities: list[Any] = []
        for representation in representations:
            if not isinstance(representation, dict):
                raise GraphQLError("Each representation must be an object.")
            if representation.get("__typename") != "Order":
                raise GraphQLError("Only Order entities are resolved here.")
            entities.append(Order(id=representation.get("id")))
        return entities


class AllMutations(DriverMutations, Mutation):
    class Meta:
        name = "Mutation"


schema = graphene.Schema(query=Query, mutation=AllMutations, types=[Order])

_FEDERATION_ONLY = frozenset({"_Any", "_Entity", "_Service"})


def federation_sdl() -> str:
    """The subgraph SDL: our types, with ``Order`` as an extension of Saleor's.

    The federation plumbing (``_service``, ``_entities`` and their types) is left
    out, as the Federation v1 spec asks. This is also the committed
    ``schema.graphql``.
    """
    return sdl.print_types(
        schema,
        include=lambda name: name not in _FEDERATION_ONLY,
        decorate=_extend_order,
        hidden_fields=frozenset({"_service", "_entities"}),
    )


def _extend_order(name: str, printed: str) -> str:
    if name != "Order":
        return printed
    # An extension carries no description of its own: Saleor's type has one.
    printed = printed[printed.index("type Order {") :]
    return printed.replace(
        "type Order {", 'extend type Order @key(fields: "id") {', 1
    ).replace("  id: ID!\n", "  id: ID! @external\n", 1)


def committed_sdl() -> str:
    return SDL_PATH.read_text(encoding="utf-8")
