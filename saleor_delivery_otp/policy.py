"""Does an order, or a parcel, need a delivery code? Plain data in, answer out.

No Django, no Saleor: the host adapter turns its order lines into :class:`Line`
values and the channel's configuration into a :class:`Policy`.

The rules, in the order they are applied to each line:

1. A line that needs no shipping (a gift card, a download) never qualifies.
2. A product flagged ``NEVER`` never qualifies; one flagged ``ALWAYS`` always does.
3. Otherwise the line must be *in scope*: with no category and no product-type filter,
   every line is; with filters, a line is when its category or one of its ancestors is
   listed, or when its product type is listed (either filter suffices).
4. An in-scope line qualifies when its unit gross price is strictly above the
   threshold for its currency. A currency without a threshold qualifies nothing by
   price (only ``ALWAYS`` products), so adding a channel in a new currency never
   starts demanding codes by accident.

A parcel needs a code according to :class:`ParcelRule`: ``ANY_LINE`` (default) when
any of its lines qualifies; ``PARCEL_VALUE`` when an ``ALWAYS`` line is in it or the
value of its in-scope lines (unit price times quantity shipped) is above the
threshold. An order needs its order-level code when the parcel made of all its
shippable lines would need one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

DEFAULT_THRESHOLDS: Mapping[str, Decimal] = {"EUR": Decimal(300)}


class ProductFlag(enum.StrEnum):
    DEFAULT = "default"
    ALWAYS = "always"
    NEVER = "never"


class ParcelRule(enum.StrEnum):
    ANY_LINE = "any_line"
    PARCEL_VALUE = "parcel_value"


@dataclass(frozen=True)
class Line:
    """One order line, or the part of it shipped in a parcel."""

    line_id: str
    unit_price_gross: Decimal
    currency: str
    quantity: int = 1
    # The line's category followed by its ancestors, by slug (any order).
    category_slugs: tuple[str, ...] = ()
    product_type_slug: str | None = None
    flag: ProductFlag = ProductFlag.DEFAULT
    is_shipping_required: bool = True


@dataclass(frozen=True)
class Policy:
    thresholds: Mapping[str, Decimal] = field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS)
    )
    category_slugs: frozenset[str] = frozenset()
    product_type_slugs: frozenset[str] = frozenset()
    parcel_rule: ParcelRule = ParcelRule.ANY_LINE

    def __post_init__(self) -> None:
        normalized = {}
        for currency, amount in self.thresholds.items():
            amount = Decimal(amount)
            if not amount.is_finite() or amount < 0:
                raise ValueError(f"The threshold for {currency} must be 0 or more.")
            normalized[currency.upper()] = amount
        object.__setattr__(self, "thresholds", normalized)

    def threshold(self, currency: str) -> Decimal | None:
        return self.thresholds.get(currency.upper())

    def in_scope(self, line: Line) -> bool:
        if not self.category_slugs and not self.product_type_slugs:
            return True
        if self.category_slugs.intersection(line.category_slugs):
            return True
        return line.product_type_slug in self.product_type_slugs

    def line_qualifies(self, line: Line) -> bool:
        if not line.is_shipping_required or line.flag is ProductFlag.NEVER:
            return False
        if line.flag is ProductFlag.ALWAYS:
            return True
        threshold = self.threshold(line.currency)
        return (
            threshold is not None
            and self.in_scope(line)
            and line.unit_price_gross > threshold
        )


@dataclass(frozen=True)
class Decision:
    required: bool
    # The lines that made it so (for the e-mail: "the code is for these items").
    qualifying_line_ids: tuple[str, ...]


def parcel_decision(policy: Policy, lines: Iterable[Line]) -> Decision:
    shippable = [
        line
        for line in lines
        if line.is_shipping_required
        and line.quantity > 0
        and line.flag is not ProductFlag.NEVER
    ]
    if policy.parcel_rule is ParcelRule.ANY_LINE:
        ids = tuple(line.line_id for line in shippable if policy.line_qualifies(line))
        return Decision(bool(ids), ids)

    always = tuple(
        line.line_id for line in shippable if line.flag is ProductFlag.ALWAYS
    )
    in_scope = [
        line
        for line in shippable
        if line.flag is ProductFlag.DEFAULT and policy.in_scope(line)
    ]
    over = _currencies_over_threshold(policy, in_scope)
    ids = always + tuple(
        line.line_id for line in in_scope if line.currency.upper() in over
    )
    return Decision(bool(ids), ids)


def order_decision(policy: Policy, lines: Iterable[Line]) -> Decision:
    """The order-level code: needed if shipping everything at once would need one."""
    return parcel_decision(policy, lines)


def _currencies_over_threshold(policy: Policy, lines: list[Line]) -> set[str]:
    totals: dict[str, Decimal] = {}
    for line in lines:
        currency = line.currency.upper()
        totals[currency] = totals.get(currency, Decimal(0)) + (
            line.unit_price_gross * line.quantity
        )
    return {
        currency
        for currency, total in totals.items()
        if (threshold := policy.threshold(currency)) is not None and total > threshold
    }
