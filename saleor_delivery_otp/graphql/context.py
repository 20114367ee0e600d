"""Per-request state of the API: who is asking, through which host and channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils import timezone

from .. import host as host_rules
from .. import models, service
from ..host import Host, OrderFacts, Requestor


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
    # Orders whose codes this request may reveal: the requestor proved to be their
    # customer when the order was resolved.
    _owned_orders: set[UUID] = field(default_factory=set)
    _orders: dict[UUID, OrderFacts | None] = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return host_rules.is_staff(self.requestor)

    def order(self, order_id: UUID) -> OrderFacts | None:
        """The order, if it exists and belongs to this request's channel."""
        if order_id not in self._orders:
            facts = self.host.order(order_id)
            if facts is not None and self.channel not in (None, facts.channel):
                facts = None
            self._orders[order_id] = facts
        return self._orders[order_id]

    def claim_order(self, order: OrderFacts, email: str | None) -> bool:
        """Whether the requestor may see this order's codes (and remember it)."""
        if host_rules.owns_order(self.requestor, order, email):
            self._owned_orders.add(order.id)
            return True
        return False

    def revealed_code(self, record: models.DeliveryCode) -> str | None:
        if record.order_id not in self._owned_orders or not record.is_usable(self.now):
            return None
        return str(service.open_code(record, self.host.keyring()))


def of(info: Any) -> RequestContext:
    return info.context
