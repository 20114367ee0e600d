"""The sandbox's shop: orders, parcels and API tokens in one JSON file.

Saleor keeps these in its own tables; the sandbox keeps just enough to play the
host's part, in a file a person can read and edit.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from ..policy import Line
from .standalone import SHOP_FILE, create_private

CHANNEL = "sandbox-eur"
CURRENCY = "EUR"
COURIER_APP_ID = "courier-app"
# The channel's "Shop phone for drivers", shown when a code locks.
SHOP_PHONE = "+39 02 1234 5678"


@dataclass
class OrderLine:
    id: str
    product: str
    unit_price: str  # gross, in EUR, as text so the JSON stays exact
    quantity: int = 1
    category_slugs: list[str] = field(default_factory=list)

    def facts(self, quantity: int | None = None) -> Line:
        return Line(
            self.id,
            Decimal(self.unit_price),
            CURRENCY,
            quantity=self.quantity if quantity is None else quantity,
            category_slugs=tuple(self.category_slugs),
        )


@dataclass
class Parcel:
    id: int
    number: int  # 1st, 2nd ... parcel of the order
    line_ids: list[str]
    tracking_number: str = ""
    # The parcel code's status, as Saleor shows it in the fulfillment's public
    # metadata (delivery_otp_status); empty for a parcel without a code.
    status: str = ""


@dataclass
class Order:
    id: str
    number: str
    email: str
    lines: list[OrderLine]
    customer_id: str | None = None  # None: a guest checkout
    customer_name: str = ""
    language_code: str = "en"
    parcels: list[Parcel] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)

    @property
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(self.id)

    def line(self, line_id: str) -> OrderLine:
        return next(line for line in self.lines if line.id == line_id)


@dataclass
class Token:
    kind: str  # customer, app, staff, driver
    identifier: str
    name: str
    email: str = ""


@dataclass
class Shop:
    orders: list[Order] = field(default_factory=list)
    tokens: dict[str, Token] = field(default_factory=dict)
    next_parcel_id: int = 1

    def order(self, order_id: uuid.UUID) -> Order | None:
        return next((o for o in self.orders if o.id == str(order_id)), None)

    def order_by_number(self, number: str) -> Order:
        return next(o for o in self.orders if o.number == number)

    def parcel(self, parcel_id: int) -> tuple[Order, Parcel] | None:
        for order in self.orders:
            for parcel in order.parcels:
                if parcel.id == parcel_id:
                    return order, parcel
        return None

    def token_of(self, kind: str) -> str:
        return next(token for token, t in self.tokens.items() if t.kind == kind)

    # --- the file ---------------------------------------------------------------

    def save(self, data_dir: Path) -> None:
        path = data_dir / SHOP_FILE
        temporary = path.with_suffix(".tmp")
        # Private: the file holds the API tokens.
        with os.fdopen(create_private(temporary), "w", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(self), indent=2))
        temporary.replace(path)

    @classmethod
    def load(cls, data_dir: Path) -> Shop | None:
        path = data_dir / SHOP_FILE
        if not path.exists():
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            orders=[
                Order(
                    **{
                        **order,
                        "lines": [OrderLine(**line) for line in order["lines"]],
                        "parcels": [Parcel(**parcel) for parcel in order["parcels"]],
                    }
                )
                for order in raw["orders"]
            ],
            tokens={key: Token(**value) for key, value in raw["tokens"].items()},
            next_parcel_id=raw["next_parcel_id"],
        )


def new_tokens() -> dict[str, Token]:
    """Bearer tokens for the three kinds of callers, random for every new shop."""
    return {
        f"cust_{secrets.token_urlsafe(18)}": Token(
            "customer", "anna", "Anna Rossi", "anna@example.com"
        ),
        f"app_{secrets.token_urlsafe(18)}": Token(
            "app", COURIER_APP_ID, "Sandbox courier"
        ),
        f"staff_{secrets.token_urlsafe(18)}": Token(
            "staff", "sam", "Sam (staff)", "sam@example.com"
        ),
    }
