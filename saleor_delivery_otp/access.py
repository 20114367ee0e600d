"""Who may do what, decided from plain data, the same in every host.

The one promise: only the order's customer ever reads a code. A code is read by the
account it was pinned to when it was issued, or by whoever holds the reveal token
that only the code's e-mail carries (see :meth:`~saleor_delivery_otp.codes.Keyring.
reveal_token`). Nothing Saleor or its webhooks hand out (the order id, its e-mail,
its current account) opens a code, and staff and apps never read one, whatever they
pass. Staff act only in the channels their permission groups give them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .ports import Host, Requestor, RequestorKind

if TYPE_CHECKING:
    from .codes import Keyring
    from .models import DeliveryCode

# Only these may ever be shown a code; staff and apps see status and attempts.
_READERS = frozenset({RequestorKind.CUSTOMER, RequestorKind.ANONYMOUS})


def reads_code(
    requestor: Requestor,
    record: DeliveryCode,
    reveal_token: str | None,
    keyring: Keyring,
) -> bool:
    """Whether the requestor proved to be the customer this code was issued to.

    The account pinned on the code (not the order's current one, which staff can
    change), or the reveal token of the order and the code's pinned mailbox.
    """
    if requestor.kind not in _READERS:
        return False
    if (
        requestor.kind is RequestorKind.CUSTOMER
        and record.customer_id
        and requestor.identifier == record.customer_id
    ):
        return True
    return bool(reveal_token) and keyring.reveal_token_matches(
        reveal_token, record.order_id, record.recipient_digest
    )


def may_ask_for_resend(requestor: Requestor) -> bool:
    """Anyone who could be the customer may ask for her codes to be e-mailed to
    the address they were issued to: it reveals nothing. Staff regenerate codes
    instead, and apps have no business e-mailing customers."""
    return requestor.kind in _READERS


def is_staff(requestor: Requestor) -> bool:
    """Staff holding MANAGE_ORDERS, in at least one channel."""
    return requestor.kind is RequestorKind.STAFF and requestor.can_manage_orders


def staff_reaches(requestor: Requestor, channel: str) -> bool:
    """Staff with MANAGE_ORDERS whose permission groups give them ``channel``."""
    return is_staff(requestor) and (
        requestor.channels is None or channel in requestor.channels
    )


def verifying_channels(
    requestor: Requestor, host: Host, channel: str | None
) -> tuple[str, ...]:
    """The channels whose parcels this caller may verify; empty when none.

    Staff with MANAGE_ORDERS verify in their accessible channels; an app only where
    the channel's configuration lists it; a driver in its key's channels.
    ``channel`` narrows it to the channel of the URL. Only channels where the plugin
    is on count.
    """
    candidates = [channel] if channel is not None else list(host.active_channels())
    allowed = []
    for slug in candidates:
        settings = host.channel_settings(slug)
        if settings is None:
            continue
        if (
            staff_reaches(requestor, slug)
            or (
                requestor.kind is RequestorKind.APP
                and requestor.identifier in settings.verifying_apps
            )
            or _driver_in(requestor, slug)
        ):
            allowed.append(slug)
    return tuple(allowed)


def _driver_in(requestor: Requestor, channel: str) -> bool:
    """A driver key works in the channels it was issued for, never beyond."""
    return (
        requestor.kind is RequestorKind.DRIVER
        and requestor.channels is not None
        and channel in requestor.channels
    )
