"""Per-request state of the API: who is asking, through which host and channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils import timezone

from .. import access, models, service
from ..ports import Host, OrderFacts, Requestor


@dataclass
class RequestContext:
    host: Host
    requestor: Requestor
    # The channel of the URL (/plugins/channel/<slug>/...); None on the global route.
    channel: str | None = None
    now: datetime = field(default_factory=timezone.now)
    # deliveryCodeVerify calls met in this HTTP request, aliases and the operations
    # of a batch included (the view makes one context per request): only the first
    # is evaluated.
    verify_calls: int = 0
    # Federation entities resolved in this request, batches included: each may cost
    # a look-up of its order, so a request resolves a bounded number.
    entities: int = 0
    # Codes this request may reveal: the requestor proved to be the customer each
    # was issued to when the code was listed.
    _readable: set[UUID] = field(default_factory=set)
    _orders: dict[UUID, OrderFacts | None] = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return access.is_staff(self.requestor)

    def staff_reaches(self, channel: str) -> bool:
        """Staff with MANAGE_ORDERS in ``channel``, served by this request."""
        return self.serves(channel) and access.staff_reaches(self.requestor, channel)

    def serves(self, channel: str) -> bool:
        """Whether this route serves the codes of ``channel``: the channel of the
        URL, or on the global route any channel where the plugin is on."""
        if self.channel is not None:
            return channel == self.channel
        return self.host.channel_settings(channel) is not None

    def order(self, order_id: UUID) -> OrderFacts | None:
        """The order, if it exists and its channel is served here."""
        if order_id not in self._orders:
            facts = self.host.order(order_id)
            if facts is not None and not self.serves(facts.channel):
                facts = None
            self._orders[order_id] = facts
        return self._orders[order_id]

    def claim_code(self, record: models.DeliveryCode, reveal_token: str | None) -> bool:
        """Whether the requestor may see this code (and remember it)."""
        if access.reads_code(self.requestor, record, reveal_token, self.host.keyring()):
            self._readable.add(record.pk)
            return True
        return False

    def revealed_code(self, record: models.DeliveryCode) -> str | None:
        if record.pk not in self._readable or not record.is_usable(self.now):
            return None
        return str(service.open_code(record, self.host.keyring()))


def of(info: Any) -> RequestContext:
    return info.context
