"""GraphQL types, named and shaped after Saleor's conventions (graphene 2)."""

from __future__ import annotations

from typing import Any

import graphene
from graphene import relay

from .. import models
from ..models import AttemptOutcome, CodeStatus, EventType
from . import context

DeliveryCodeStatusEnum = graphene.Enum(
    "DeliveryCodeStatusEnum",
    [(status.name, status.value) for status in CodeStatus],
    description="Where a delivery code stands.",
)

DeliveryCodeErrorCode = graphene.Enum(
    "DeliveryCodeErrorCode",
    [
        ("GRAPHQL_ERROR", "graphql_error"),
        ("INVALID", "invalid"),
        ("REQUIRED", "required"),
        ("NOT_FOUND", "not_found"),
        ("PERMISSION_DENIED", "permission_denied"),
        ("INVALID_STATE", "invalid_state"),
        ("RATE_LIMITED", "rate_limited"),
    ],
    description="Error codes of the delivery-code mutations.",
)

DeliveryCodeAttemptResultEnum = graphene.Enum(
    "DeliveryCodeAttemptResultEnum",
    [(outcome.name, outcome.value) for outcome in AttemptOutcome],
    description="What a verification attempt gave, as staff see it.",
)

DeliveryCodeEventTypeEnum = graphene.Enum(
    "DeliveryCodeEventTypeEnum",
    [(event.name, event.value) for event in EventType],
    description="A step in the life of a delivery code.",
)


class DeliveryCodeError(graphene.ObjectType):
    """Why a delivery-code mutation did nothing."""

    field = graphene.String(
        description=(
            "Name of a field that caused the error. A value of `null` indicates that "
            "the error isn't associated with a particular field."
        )
    )
    message = graphene.String(description="The error message.")
    code = DeliveryCodeErrorCode(required=True, description="The error code.")
    retry_after = graphene.Int(
        description="Seconds to wait before trying again, for RATE_LIMITED."
    )


class DeliveryCodeAttempt(graphene.ObjectType):
    """One verification attempt, as staff see it: who, when, what it gave."""

    created_at = graphene.DateTime(required=True, description="When it was tried.")
    actor = graphene.String(
        required=True, description="Who tried: `app:<id>` or `staff:<id>`."
    )
    accepted = graphene.Boolean(required=True, description="Whether it was accepted.")
    result = DeliveryCodeAttemptResultEnum(
        required=True, description="What the attempt gave."
    )

    @staticmethod
    def resolve_result(root: models.VerificationAttempt, info: Any) -> str:
        return root.outcome


class DeliveryCodeEvent(graphene.ObjectType):
    """A step in the life of a delivery code, as staff see it."""

    created_at = graphene.DateTime(required=True, description="When it happened.")
    type = DeliveryCodeEventTypeEnum(required=True, description="What happened.")
    actor = graphene.String(required=True, description="Who did it.")
    note = graphene.String(
        required=True, description="The reason given, for staff actions."
    )

    @staticmethod
    def resolve_type(root: models.CodeEvent, info: Any) -> str:
        return root.type


def fulfillment_global_id(fulfillment_id: int | None) -> str | None:
    if fulfillment_id is None:
        return None
    return relay.Node.to_global_id("Fulfillment", fulfillment_id)


class DeliveryCode(graphene.ObjectType):
    """One parcel's delivery code. The code itself is shown only to the customer it
    was issued to, while it can still be used; staff see status and attempts."""

    order_id = graphene.ID(required=True, description="ID of the order (Saleor's).")
    fulfillment_id = graphene.ID(
        description=(
            "ID of the parcel (Saleor's fulfillment); null until the order's code is "
            "bound to its first parcel."
        )
    )
    tracking_number = graphene.String(
        required=True, description="The parcel's tracking number, if known."
    )
    status = DeliveryCodeStatusEnum(required=True, description="The code's status.")
    code = graphene.String(
        description=(
            "The code to tell the courier. Only for the customer it was issued to "
            "(her account, or the reveal token of its e-mail), and only while the "
            "code can be used; null otherwise."
        )
    )
    attempts_left = graphene.Int(
        required=True, description="Wrong codes the courier may still enter."
    )
    expires_at = graphene.DateTime(
        description="When the code expires; null until the parcel ships."
    )
    shipped_at = graphene.DateTime(description="When the parcel was shipped.")
    verified_at = graphene.DateTime(description="When the parcel was handed over.")
    created_at = graphene.DateTime(required=True, description="When it was issued.")
    attempts = graphene.List(
        graphene.NonNull(DeliveryCodeAttempt),
        description="Verification attempts. Requires MANAGE_ORDERS.",
    )
    events = graphene.List(
        graphene.NonNull(DeliveryCodeEvent),
        description="The code's history. Requires MANAGE_ORDERS.",
    )

    class Meta:
        interfaces = (relay.Node,)

    @staticmethod
    def resolve_order_id(root: models.DeliveryCode, info: Any) -> str:
        return relay.Node.to_global_id("Order", root.order_id)

    @staticmethod
    def resolve_fulfillment_id(root: models.DeliveryCode, info: Any) -> str | None:
        return fulfillment_global_id(root.fulfillment_id)

    @staticmethod
    def resolve_status(root: models.DeliveryCode, info: Any) -> str:
        return root.status

    @staticmethod
    def resolve_code(root: models.DeliveryCode, info: Any) -> str | None:
        return context.of(info).revealed_code(root)

    @staticmethod
    def resolve_attempts(root: models.DeliveryCode, info: Any) -> list[Any] | None:
        if not context.of(info).staff_reaches(root.channel):
            return None
        return list(root.verification_attempts.order_by("created_at", "id"))

    @staticmethod
    def resolve_events(root: models.DeliveryCode, info: Any) -> list[Any] | None:
        if not context.of(info).staff_reaches(root.channel):
            return None
        return list(root.events.order_by("created_at", "id"))
