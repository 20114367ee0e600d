"""Saleor's plugin hooks, as flows: each hook's Saleor object becomes plain data
(:mod:`.readers`) and goes to :func:`saleor_delivery_otp.flows.run`, which never
raises. The plugin class (:mod:`saleor_delivery_otp.plugin`) only maps its hooks
here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from saleor.order.models import Fulfillment, Order

from .. import constants as c
from .. import flows
from ..plugin_config import ChannelConfig
from ..ports import EmailMode, OrderData, ParcelData
from . import readers
from .host import SaleorHost

NOTIFY_ORDER_CONFIRMATION = "order_confirmation"

_HANDLED_ATTR = "_delivery_otp_handled"


def run(event: str, obj: Order | Fulfillment, config: ChannelConfig) -> bool:
    """Run the flow of one hook; never raises. Returns whether it succeeded."""
    settings = config.settings()
    host = SaleorHost({_channel_slug(obj): config})
    with_categories = bool(settings.policy.category_slugs)
    data: Callable[[], OrderData | ParcelData]
    then: Callable[[Any], None] | None = None
    if isinstance(obj, Fulfillment):
        if event in (flows.FULFILLMENT_CREATED, flows.FULFILLMENT_APPROVED):
            if not _first_visit(obj):
                return True

            def data() -> ParcelData:
                return readers.parcel_data(obj, with_categories=with_categories)

            def then(_: object) -> None:
                _mark_visited(obj)

        else:

            def data() -> ParcelData:
                return readers.parcel_brief(obj)

            if event == flows.TRACKING_NUMBER_UPDATED:

                def then(status: object) -> None:
                    _show_status(obj, status)

    elif event == flows.ORDER_CREATED:

        def data() -> OrderData:
            return readers.order_data(obj, with_categories=with_categories)

    else:

        def data() -> OrderData:
            return readers.order_brief(obj)

    return flows.run(event, host, obj.pk, data, settings, then=then)


def _channel_slug(obj: Order | Fulfillment) -> str:
    order = obj.order if isinstance(obj, Fulfillment) else obj
    return order.channel.slug


def _first_visit(fulfillment: Fulfillment) -> bool:
    """Whether this fulfillment object has not been handled yet.

    Saleor fires ``fulfillment_created`` and then ``fulfillment_approved`` with the
    same object: the second call is answered from memory, without a query.
    """
    return not getattr(fulfillment, _HANDLED_ATTR, False)


def _mark_visited(fulfillment: Fulfillment) -> None:
    setattr(fulfillment, _HANDLED_ATTR, True)


def _show_status(fulfillment: Fulfillment, status: object) -> None:
    """After fulfillmentUpdateTracking, the flow wrote the parcel's status again;
    the object Saleor holds (and hands to the hooks after ours) shows it too."""
    if isinstance(status, str):
        fulfillment.metadata = {
            **(fulfillment.metadata or {}),
            c.FULFILLMENT_STATUS_METADATA_KEY: status,
        }


def run_notify(
    event: str, payload_func: Callable[[], Any], config: ChannelConfig
) -> None:
    """Saleor's ``notify`` hook; never raises. Only ORDER_CONFIRMATION matters: in
    single-e-mail mode the plugin sends it instead (User emails' template is
    emptied), with the order's code if any."""
    if str(event) != NOTIFY_ORDER_CONFIRMATION:
        return
    settings = config.settings()
    if settings.email_mode is not EmailMode.SINGLE:
        return

    def read() -> tuple[str | None, Mapping[str, Any]]:
        payload = payload_func()
        return order_id_from_payload(payload), payload

    flows.run_confirmation(SaleorHost(), read, settings)


def order_id_from_payload(payload: Mapping[str, Any]) -> str | None:
    order = payload.get("order") if isinstance(payload, Mapping) else None
    token = order.get("token") if isinstance(order, Mapping) else None
    return str(token) if token else None
