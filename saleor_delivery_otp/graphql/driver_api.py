"""The API of the driver's page: driver keys for staff, the doorstep resend.

Kept apart from :mod:`.mutations` so the courier's and customer's API reads as it
did; :mod:`.schema` merges these fields into ``Query`` and ``Mutation``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import graphene
from graphene import relay

from .. import access, drivers, flows, models, service
from ..exceptions import DeliveryOTPError, InvalidInput, NotFound, PermissionDenied
from ..ports import RequestorKind
from . import context
from .context import RequestContext
from .errors import permission_denied
from .mutations import (
    DeliveryCodeMutation,
    _lookup,
    decode_uuid,
    limits_for,
)


class DeliveryDriverKey(graphene.ObjectType):
    """A driver's key to the doorstep check, as staff see it: never the key."""

    name = graphene.String(required=True, description="The driver's name.")
    channels = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Slugs of the channels whose parcels the driver may check.",
    )
    prefix = graphene.String(
        required=True,
        description="The key's public start (`dk_1a2b3c4d`), to tell keys apart.",
    )
    created_at = graphene.DateTime(required=True, description="When it was issued.")
    created_by = graphene.String(required=True, description="Who issued it.")
    last_used_at = graphene.DateTime(
        description="When it was last used, to within 15 minutes; null if never."
    )
    revoked_at = graphene.DateTime(
        description="When it was revoked; null while it works."
    )

    class Meta:
        interfaces = (relay.Node,)

    @staticmethod
    def resolve_channels(root: models.DriverKey, info: Any) -> list[str]:
        return list(root.channel_list)

    @staticmethod
    def resolve_prefix(root: models.DriverKey, info: Any) -> str:
        return f"{drivers.KEY_PREFIX}{root.prefix}"


class DeliveryDriver(graphene.ObjectType):
    """The driver signed in on the driver's page."""

    name = graphene.String(required=True, description="The driver's name.")
    channels = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description=(
            "Slugs of the channels whose parcels the driver may check here: the "
            "key's channels where delivery codes are active (on a channel's route, "
            "that channel)."
        ),
    )
    shop_phone = graphene.String(
        description=(
            "The shop's phone for drivers: the URL's channel's, else the first of "
            "the driver's channels (by slug) that has one; null if none does."
        )
    )


def _staff_scope(ctx: RequestContext) -> frozenset[str] | None:
    """The channels this staff member manages keys in; None for every channel."""
    if not ctx.is_staff:
        raise PermissionDenied("Requires staff with MANAGE_ORDERS.")
    channels = ctx.requestor.channels
    if ctx.channel is not None:
        return frozenset(
            {ctx.channel} & channels if channels is not None else {ctx.channel}
        )
    return channels


class DeliveryDriverKeyCreateInput(graphene.InputObjectType):
    name = graphene.String(required=True, description="The driver's name.")
    channels = graphene.List(
        graphene.NonNull(graphene.String),
        description=(
            "Slugs of the channels the driver delivers for; on a channel's route, "
            "that channel when omitted."
        ),
    )


class DeliveryDriverKeyCreate(DeliveryCodeMutation):
    driver_key = graphene.Field(DeliveryDriverKey, description="The new key.")
    key = graphene.String(
        description=(
            "The key to give the driver, shown this once: only its digest is kept."
        )
    )

    class Arguments:
        input = DeliveryDriverKeyCreateInput(required=True)

    class Meta:
        description = (
            "Issue a driver key: a shop's own driver signs in to the driver's page "
            "with it and may verify codes and ask for the code e-mail again, in the "
            "key's channels only. Requires MANAGE_ORDERS in those channels."
        )

    @classmethod
    def perform(cls, ctx: RequestContext, **data: Any) -> DeliveryDriverKeyCreate:
        scope = _staff_scope(ctx)
        values = data.get("input") or {}
        channels = values.get("channels")
        if not channels and ctx.channel is not None:
            channels = [ctx.channel]
        slugs = drivers.clean_channels(channels)
        outside = [
            slug
            for slug in slugs
            if (scope is not None and slug not in scope)
            or ctx.host.channel_settings(slug) is None
        ]
        if outside:
            raise InvalidInput(
                "channels",
                "Delivery codes are not active, or you may not act, in: "
                + ", ".join(outside[:5]),
            )
        record, key = drivers.create(values.get("name"), slugs, by=ctx.requestor.actor)
        return cls(driver_key=record, key=key, errors=[])


class DeliveryDriverKeyRevoke(DeliveryCodeMutation):
    driver_key = graphene.Field(DeliveryDriverKey, description="The revoked key.")

    class Arguments:
        id = graphene.ID(required=True, description="ID of the driver key.")

    class Meta:
        description = (
            "Revoke a driver key: it is refused from the next request on. Requires "
            "MANAGE_ORDERS in every channel of the key."
        )

    @classmethod
    def perform(cls, ctx: RequestContext, **data: Any) -> DeliveryDriverKeyRevoke:
        scope = _staff_scope(ctx)
        record = drivers.find(decode_uuid(data.get("id"), "DeliveryDriverKey", "id"))
        if not drivers.manageable_by(record, scope):
            # The same answer as for a key that does not exist.
            raise NotFound("No such driver key.", "id")
        return cls(driver_key=drivers.revoke(record, by=ctx.requestor.actor), errors=[])


class DeliveryCodeResendToCustomer(DeliveryCodeMutation):
    """The doorstep resend: the code e-mail again, to the customer's address."""

    requested = graphene.Boolean(
        required=True,
        description=(
            "True whenever the caller may ask (false with an error otherwise): "
            "whether an e-mail went out is not said, so the answer never tells "
            "whether the parcel exists."
        ),
    )

    class Arguments:
        fulfillment_id = graphene.ID(
            description="The parcel, by Saleor's fulfillment ID."
        )
        tracking_number = graphene.String(
            description="The parcel, by its tracking number."
        )

    @classmethod
    def mutate(cls, root: Any, info: Any, **data: Any) -> Any:
        result = super().mutate(root, info, **data)
        if result.requested is None:
            result.requested = False
        return result

    class Meta:
        description = (
            "Ask for the parcel's code to be e-mailed to the order's customer again, "
            "from the doorstep. For those who may verify the parcel (drivers, "
            "courier apps allowed in the channel, staff). The e-mail goes only to "
            "the customer, within the customer's resend cooldown and daily cap; "
            "the answer is the same whether or not anything was sent."
        )

    @classmethod
    def perform(cls, ctx: RequestContext, **data: Any) -> DeliveryCodeResendToCustomer:
        channels = access.verifying_channels(ctx.requestor, ctx.host, ctx.channel)
        if not channels:
            raise PermissionDenied(
                "Only delivery partners allowed by the shop may ask for the code."
            )
        lookup = _lookup(data)
        # Probing names here is held to the same per-caller limit as failed
        # verifies, so it cannot map which parcels exist faster than verify can.
        service.check_caller(ctx.requestor.actor, now=ctx.now)
        found = models.DeliveryCode.objects.current().filter(channel__in=channels)
        if lookup.fulfillment_id is not None:
            found = found.filter(fulfillment_id=lookup.fulfillment_id)
        else:
            found = found.filter(tracking_number=lookup.tracking_number)
        records = list(found[:2])
        order = ctx.order(records[0].order_id) if len(records) == 1 else None
        if order is None:
            service.note_failure(ctx.requestor.actor, lookup, now=ctx.now)
        else:
            record = records[0]
            # Throttled, or the code can no longer be used: nothing is sent, and
            # the answer is the one an unknown parcel gets.
            with contextlib.suppress(DeliveryOTPError):
                # Only to the address the code was issued to, as the customer's own
                # resend: a changed address gets nothing from the doorstep.
                flows.doorstep_resend(
                    ctx.host,
                    ctx.requestor,
                    record,
                    limits=limits_for(ctx, record.channel),
                    current_email=order.email,
                )
        return cls(requested=True, errors=[])


class DriverMutations(graphene.ObjectType):
    delivery_driver_key_create = DeliveryDriverKeyCreate.Field()
    delivery_driver_key_revoke = DeliveryDriverKeyRevoke.Field()
    delivery_code_resend_to_customer = DeliveryCodeResendToCustomer.Field()


class DriverQueries(graphene.ObjectType):
    delivery_driver = graphene.Field(
        DeliveryDriver,
        description=(
            "The driver of this request's driver key, if it may check parcels on "
            "this route; null for anyone else."
        ),
    )
    delivery_driver_keys = graphene.List(
        graphene.NonNull(DeliveryDriverKey),
        description=(
            "The driver keys of the channels you manage, revoked ones included. "
            "Requires MANAGE_ORDERS."
        ),
    )

    @staticmethod
    def resolve_delivery_driver(root: Any, info: Any) -> DeliveryDriver | None:
        ctx = context.of(info)
        requestor = ctx.requestor
        if requestor.kind is not RequestorKind.DRIVER:
            return None
        # Signed in means: may check parcels here (on a channel's route, that
        # channel must be one of the key's, with delivery codes active).
        channels = sorted(access.verifying_channels(requestor, ctx.host, ctx.channel))
        if not channels:
            return None
        phone = None
        for slug in channels:
            settings = ctx.host.channel_settings(slug)
            if settings is not None and settings.shop_phone:
                phone = settings.shop_phone
                break
        return DeliveryDriver(
            name=drivers.name_of(requestor),
            channels=channels,
            shop_phone=phone,
        )

    @staticmethod
    def resolve_delivery_driver_keys(root: Any, info: Any) -> list[Any]:
        ctx = context.of(info)
        try:
            scope = _staff_scope(ctx)
        except PermissionDenied as error:
            raise permission_denied(error) from None
        return [
            record
            for record in models.DriverKey.objects.order_by("created_at", "id")
            if drivers.manageable_by(record, scope)
        ]
