"""The sample shop every new sandbox starts with."""

from __future__ import annotations

import uuid

from .host import SandboxHost
from .shop import Order, OrderLine


def seed(host: SandboxHost) -> None:
    """Three orders, placed and shipped as a shop would:

    * 1001, Anna: a 349 EUR smartphone and a 20 EUR cable, in two parcels: the
      phone's parcel needs a code, the cable's does not;
    * 1002, a guest: 50 EUR headphones, below the threshold: no code at all;
    * 1003, Anna, in Italian: a laptop, not shipped yet: the order's code waits
      for its first parcel.
    """
    phone_order = Order(
        str(uuid.uuid4()),
        "1001",
        "anna@example.com",
        [
            OrderLine("1001-phone", "Smartphone X, 256 GB", "349.00", 1, ["phones"]),
            OrderLine("1001-cable", "USB-C cable", "20.00", 1, ["accessories"]),
        ],
        customer_id="anna",
        customer_name="Anna",
    )
    host.place_order(phone_order)
    host.ship(phone_order, ["1001-phone"], "SBX-1001-1")
    host.ship(phone_order, ["1001-cable"], "SBX-1001-2")

    cheap_order = Order(
        str(uuid.uuid4()),
        "1002",
        "guest@example.com",
        [OrderLine("1002-headphones", "Headphones", "50.00", 1, ["audio"])],
    )
    host.place_order(cheap_order)
    host.ship(cheap_order, ["1002-headphones"], "SBX-1002-1")

    laptop_order = Order(
        str(uuid.uuid4()),
        "1003",
        "anna@example.com",
        [
            OrderLine("1003-laptop", "Laptop Pro 14", "1299.00", 1, ["computers"]),
            OrderLine("1003-mouse", "Wireless mouse", "25.00", 1, ["accessories"]),
        ],
        customer_id="anna",
        customer_name="Anna",
        language_code="it",
    )
    host.place_order(laptop_order)
