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
from . import context, sdl
from .driver_api import DriverMutations, DriverQueries
from .mutations import Mutation, decode_uuid
from .types import DeliveryCode

SDL_PATH = Path(__file__).with_name("schema.graphql")


class PermissionDenied(GraphQLError):
    def __init__(self, message: str = "You do not have access to this order's codes."):
        super().__init__(
            message, extensions={"exception": {"code": "PermissionDenied"}}
        )


def codes_of_order(info: Any, order_global_id: object, email: str | None) -> list[Any]:
    """The order's current codes, for its customer (with codes) or staff (without).

    Anyone else, including for an order that does not exist, gets the same refusal.
    """
    ctx = context.of(info)
    try:
        order_id = decode_uuid(order_global_id, "Order", "order_id")
    except DeliveryOTPError as error:
        raise GraphQLError(error.message) from None
    order = ctx.order(order_id)
    if order is None or not (ctx.claim_order(order, email) or ctx.is_staff):
        raise PermissionDenied()
    return list(
        models.DeliveryCode.objects.filter(order_id=order_id)
        .exclude(status=models.CodeStatus.SUPERSEDED)
        .order_by("created_at")
    )


EMAIL_ARGUMENT = graphene.String(
    description="For a guest checkout: the e-mail address the order was placed with."
)


class Order(graphene.ObjectType):
    """Saleor's order, extended with its parcels' delivery codes."""

    id = graphene.ID(required=True, description="Saleor's ID of the order.")
    delivery_codes = graphene.List(
        graphene.NonNull(DeliveryCode),
        email=EMAIL_ARGUMENT,
        description=(
            "The delivery codes of the order's parcels. The order's customer sees each "
            "code while it can be used; staff with MANAGE_ORDERS see status and "
            "attempts, never codes."
        ),
    )

    @staticmethod
    def resolve_delivery_codes(root: Any, info: Any, email: str | None = None) -> Any:
        return codes_of_order(info, root.id, email)


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
        email=EMAIL_ARGUMENT,
        description=(
            "The delivery codes of an order's parcels ('track my package'). The "
            "order's customer sees each code while it can be used; staff with "
            "MANAGE_ORDERS see status and attempts, never codes."
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
        root: Any, info: Any, order_id: str, email: str | None = None
    ) -> Any:
        return codes_of_order(info, order_id, email)

    @staticmethod
    def resolve_service(root: Any, info: Any) -> _Service:
        return _Service(sdl=federation_sdl())

    @staticmethod
    def resolve_entities(root: Any, info: Any, representations: list[Any]) -> list[Any]:
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
