"""Mutations: the courier's verify call, the customer's resend, staff actions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import graphene
from graphql_relay import from_global_id

from .. import access, flows, models, service
from ..codes import PlainCode
from ..exceptions import (
    DeliveryOTPError,
    InvalidInput,
    InvalidState,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from ..limits import CodeLimits
from . import context
from .context import RequestContext
from .types import DeliveryCode, DeliveryCodeError

MAX_ID_CHARS = 200


def decode_id(value: object, expected_type: str, field: str) -> str:
    """The database id inside one of Saleor's (or our) global IDs."""
    if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS:
        raise InvalidInput(field, f"Give a valid {expected_type} ID.")
    try:
        type_, pk = from_global_id(value)
    except Exception:
        raise InvalidInput(field, f"Give a valid {expected_type} ID.") from None
    if type_ != expected_type or not pk:
        raise InvalidInput(field, f"Give a valid {expected_type} ID.")
    return pk


def decode_uuid(value: object, expected_type: str, field: str) -> UUID:
    try:
        return UUID(decode_id(value, expected_type, field))
    except ValueError:
        raise InvalidInput(field, f"Give a valid {expected_type} ID.") from None


def limits_for(ctx: RequestContext, channel: str | None) -> CodeLimits:
    settings = ctx.host.channel_settings(channel) if channel else None
    return settings.limits if settings is not None else CodeLimits.from_settings()


class DeliveryCodeMutation(graphene.Mutation):
    """Turns the engine's errors into Saleor-style ``errors`` entries."""

    errors = graphene.List(
        graphene.NonNull(DeliveryCodeError),
        required=True,
        description="Why the mutation did nothing; empty on success.",
    )

    class Meta:
        abstract = True

    @classmethod
    def mutate(cls, root: Any, info: Any, **data: Any) -> Any:
        try:
            return cls.perform(context.of(info), **data)
        except DeliveryOTPError as error:
            return cls(
                errors=[
                    DeliveryCodeError(
                        field=_camel(error.field),
                        message=error.message,
                        code=error.code,
                        retry_after=getattr(error, "retry_after", None),
                    )
                ]
            )

    @classmethod
    def perform(cls, ctx: RequestContext, **data: Any) -> Any:
        raise NotImplementedError


def _camel(field: str | None) -> str | None:
    if field is None:
        return None
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)


class DeliveryCodeVerify(DeliveryCodeMutation):
    """The courier's check at the door. Every failure gives the same answer."""

    accepted = graphene.Boolean(
        required=True, description="Whether the parcel may be handed over."
    )
    attempts_left = graphene.Int(
        description=(
            "Wrong codes that may still be tried for this parcel; null when the call "
            "was refused before any code was checked."
        )
    )

    class Arguments:
        fulfillment_id = graphene.ID(
            description="The parcel, by Saleor's fulfillment ID."
        )
        tracking_number = graphene.String(
            description="The parcel, by its tracking number."
        )
        code = graphene.String(
            required=True,
            description=(
                "The code the customer told the courier. Send it as a JSON string: "
                "a number is refused before anything is checked, since it would "
                "lose leading zeros."
            ),
        )

    class Meta:
        description = (
            "Check a delivery code at the door. Requires an app allowed in the "
            "channel's plugin configuration, a driver key of the channel, or staff "
            "with MANAGE_ORDERS in the channel. One per "
            "HTTP request: a further one in the same request, as an alias or in a "
            "batch, is refused with RATE_LIMITED and checks nothing."
        )

    @classmethod
    def mutate(cls, root: Any, info: Any, **data: Any) -> Any:
        result = super().mutate(root, info, **data)
        if result.accepted is None:
            result.accepted = False
        return result

    @classmethod
    def perform(cls, ctx: RequestContext, **data: Any) -> DeliveryCodeVerify:
        # Masked in any report of local variables from here on.
        code = data.pop("code", None)
        if isinstance(code, str):
            code = PlainCode(code)
        ctx.verify_calls += 1
        if ctx.verify_calls > 1:
            # Aliases and batches would otherwise let one request try a code on
            # many parcels at once, faster than any per-caller limit can react.
            raise RateLimited(
                "One deliveryCodeVerify per request: send this one on its own.",
                retry_after=0,
            )
        channels = access.verifying_channels(ctx.requestor, ctx.host, ctx.channel)
        if not channels:
            # Refused before any code is looked at: no attempt is spent.
            raise PermissionDenied(
                "Only delivery partners allowed by the shop may verify codes."
            )
        actor = ctx.requestor.actor
        lookup = _lookup(data)
        service.check_caller(actor, now=ctx.now)
        result = service.verify(
            lookup,
            code,
            actor,
            channels=channels,
            limits=_verify_rules(ctx, channels),
            keyring=ctx.host.keyring(),
        )
        if not result.accepted:
            service.note_failure(actor, lookup, now=ctx.now)
        flows.verified(ctx.host, ctx.requestor, result)
        return cls(
            accepted=result.accepted, attempts_left=result.attempts_left, errors=[]
        )


def _verify_rules(ctx: RequestContext, channels: tuple[str, ...]) -> CodeLimits:
    """The limits of the caller's channel, whose attempt limit an unknown parcel
    counts down from, as a parcel of that channel would.

    On the channel-less route the caller may verify in several channels; if their
    limits differ the smallest is used, so an unknown parcel is told apart from a
    real parcel of a channel with a larger limit (docs/security.md says so).
    """
    configured = [
        configuration.limits
        for configuration in map(ctx.host.channel_settings, channels)
        if configuration is not None
    ]
    if not configured:
        return CodeLimits.from_settings()
    return min(configured, key=lambda limits: limits.max_attempts)


def _lookup(data: dict[str, Any]) -> service.Lookup:
    fulfillment_id = data.get("fulfillment_id")
    if fulfillment_id is not None:
        pk = decode_id(fulfillment_id, "Fulfillment", "fulfillment_id")
        if not (pk.isascii() and pk.isdigit()):
            raise InvalidInput("fulfillment_id", "Give a valid Fulfillment ID.")
        fulfillment_id = int(pk)
    return service.Lookup(
        fulfillment_id=fulfillment_id, tracking_number=data.get("tracking_number")
    )


def _record_for(ctx: RequestContext, value: object) -> models.DeliveryCode:
    pk = decode_uuid(value, "DeliveryCode", "id")
    record = models.DeliveryCode.objects.filter(pk=pk).first()
    if record is None or not ctx.serves(record.channel):
        raise NotFound("No such delivery code.", "id")
    return record


class DeliveryCodeResend(DeliveryCodeMutation):
    delivery_code = graphene.Field(DeliveryCode, description="The code e-mailed.")

    class Arguments:
        id = graphene.ID(required=True, description="ID of the delivery code.")
        reveal_token = graphene.String(
            description=(
                "For a guest: the reveal token of the link in the code's e-mail."
            )
        )

    class Meta:
        description = (
            "E-mail the code again, to the address it was issued to. For the "
            "customer the code was issued to only; limited by a cooldown and a "
            "daily cap. Refused once the order's e-mail changed: a code never goes "
            "to an address it was not issued to."
        )

    @classmethod
    def perform(cls, ctx: RequestContext, **data: Any) -> DeliveryCodeResend:
        record = _record_for(ctx, data.get("id"))
        order = ctx.order(record.order_id)
        if order is None or not ctx.claim_code(record, data.get("reveal_token")):
            raise PermissionDenied("Only the order's customer may ask for the code.")
        record = flows.resend(
            record.pk,
            limits=limits_for(ctx, record.channel),
            current_email=order.email,
            keyring=ctx.host.keyring(),
        )
        return cls(delivery_code=record, errors=[])


class DeliveryCodesResend(DeliveryCodeMutation):
    class Arguments:
        order_id = graphene.ID(required=True, description="Saleor's ID of the order.")

    class Meta:
        description = (
            "For a customer who lost her code e-mail: e-mail each live code of the "
            "order again, to the address it was issued to, while that is still the "
            "order's address. Needs no proof, as it reveals nothing: the answer is "
            "the same for any order, and each code's cooldown and daily cap apply. "
            "Not for staff (they regenerate) or apps."
        )

    @classmethod
    def perform(cls, ctx: RequestContext, **data: Any) -> DeliveryCodesResend:
        order_id = decode_uuid(data.get("order_id"), "Order", "order_id")
        if not access.may_ask_for_resend(ctx.requestor):
            raise PermissionDenied("Only the order's customer may ask for the code.")
        order = ctx.order(order_id)
        if order is None:
            return cls(errors=[])
        keyring = ctx.host.keyring()
        for record in models.DeliveryCode.objects.for_order(order_id).filter(
            status=models.CodeStatus.ACTIVE
        ):
            if not record.is_usable(ctx.now):
                continue
            try:
                flows.resend(
                    record.pk,
                    limits=limits_for(ctx, record.channel),
                    current_email=order.email,
                    keyring=keyring,
                )
            except (InvalidState, NotFound, RateLimited):
                # Silent: the answer must not tell whether anything was sent.
                continue
        return cls(errors=[])


class StaffMutation(DeliveryCodeMutation):
    delivery_code = graphene.Field(
        DeliveryCode, description="The code after the change."
    )

    class Meta:
        abstract = True

    @classmethod
    def perform(cls, ctx: RequestContext, **data: Any) -> Any:
        if not ctx.is_staff:
            raise PermissionDenied("Requires staff with MANAGE_ORDERS.")
        record = _record_for(ctx, data.pop("id"))
        if not ctx.staff_reaches(record.channel):
            # Outside the staff member's channels: as if the code did not exist.
            raise NotFound("No such delivery code.", "id")
        return cls(delivery_code=cls.change(ctx, record, **data), errors=[])

    @classmethod
    def change(
        cls, ctx: RequestContext, record: models.DeliveryCode, **data: Any
    ) -> models.DeliveryCode:
        raise NotImplementedError


class DeliveryCodeRegenerate(StaffMutation):
    class Arguments:
        id = graphene.ID(required=True, description="ID of the delivery code.")

    class Meta:
        description = (
            "Replace a code by a new one and e-mail it to the customer; the old code "
            "stops working. Limited like the customer's resend: a cooldown and a "
            "daily cap per parcel. Requires MANAGE_ORDERS."
        )

    @classmethod
    def change(
        cls, ctx: RequestContext, record: models.DeliveryCode, **data: Any
    ) -> models.DeliveryCode:
        order = ctx.order(record.order_id)
        # For the customer the old code was issued to, never for whoever the order
        # names now: staff changing the order's e-mail must not receive a code.
        return flows.regenerate(
            ctx.host,
            ctx.requestor,
            record,
            current_email=order.email if order is not None else "",
            limits=limits_for(ctx, record.channel),
        )


class DeliveryCodeUnlock(StaffMutation):
    class Arguments:
        id = graphene.ID(required=True, description="ID of the delivery code.")
        reason = graphene.String(
            required=True, description="Why, for the audit trail (max 500 characters)."
        )

    class Meta:
        description = (
            "Give a locked code its attempts back, a limited number of times per "
            "code (then regenerate it). Requires MANAGE_ORDERS."
        )

    @classmethod
    def change(
        cls, ctx: RequestContext, record: models.DeliveryCode, **data: Any
    ) -> Any:
        return flows.unlock(
            ctx.host,
            ctx.requestor,
            record,
            reason=data.get("reason"),
            limits=limits_for(ctx, record.channel),
        )


class DeliveryCodeHandoverWithoutCode(StaffMutation):
    class Arguments:
        id = graphene.ID(required=True, description="ID of the delivery code.")
        reason = graphene.String(
            required=True, description="Why, for the audit trail (max 500 characters)."
        )

    class Meta:
        description = (
            "Record that the parcel was handed over without its code, and why. "
            "Requires MANAGE_ORDERS."
        )

    @classmethod
    def change(
        cls, ctx: RequestContext, record: models.DeliveryCode, **data: Any
    ) -> Any:
        return flows.handover_without_code(
            ctx.host, ctx.requestor, record, reason=data.get("reason")
        )


class Mutation(graphene.ObjectType):
    delivery_code_verify = DeliveryCodeVerify.Field()
    delivery_code_resend = DeliveryCodeResend.Field()
    delivery_codes_resend = DeliveryCodesResend.Field()
    delivery_code_regenerate = DeliveryCodeRegenerate.Field()
    delivery_code_unlock = DeliveryCodeUnlock.Field()
    delivery_code_handover_without_code = DeliveryCodeHandoverWithoutCode.Field()
