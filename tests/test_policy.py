"""Which orders and parcels need a delivery code: every rule of ``policy.py``.

The policy is plain data in, answer out, so nothing here needs a database. First
one explicit example per rule of the module docstring, then properties over
arbitrary lines and policies, checked against an independent reading of the rules.
"""

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saleor_delivery_otp.policy import (
    DEFAULT_THRESHOLDS,
    Decision,
    Line,
    ParcelRule,
    Policy,
    ProductFlag,
    order_decision,
    parcel_decision,
)

ALWAYS, NEVER, DEFAULT = ProductFlag.ALWAYS, ProductFlag.NEVER, ProductFlag.DEFAULT
ANY_LINE, PARCEL_VALUE = ParcelRule.ANY_LINE, ParcelRule.PARCEL_VALUE


def line(line_id="L1", price="350", currency="EUR", **fields) -> Line:
    return Line(line_id, Decimal(price), currency, **fields)


def phone(line_id="phone", price="350", **fields) -> Line:
    fields.setdefault("category_slugs", ("smartphones", "phones", "electronics"))
    fields.setdefault("product_type_slug", "smartphone")
    return line(line_id, price, **fields)


def cable(line_id="cable", price="50", **fields) -> Line:
    fields.setdefault("category_slugs", ("cables", "accessories"))
    fields.setdefault("product_type_slug", "accessory")
    return line(line_id, price, **fields)


def decide(policy: Policy, *lines: Line) -> Decision:
    return parcel_decision(policy, lines)


def both_rules(**fields) -> list[Policy]:
    return [Policy(parcel_rule=rule, **fields) for rule in (ANY_LINE, PARCEL_VALUE)]


# --- explicit examples: defaults and price --------------------------------------------


def test_default_policy_is_300_eur_for_any_line():
    policy = Policy()

    assert policy.thresholds == {"EUR": Decimal(300)}
    assert dict(DEFAULT_THRESHOLDS) == {"EUR": Decimal(300)}
    assert policy.parcel_rule is ANY_LINE
    assert policy.category_slugs == frozenset()
    assert policy.product_type_slugs == frozenset()


@pytest.mark.parametrize("policy", both_rules(), ids=["any-line", "parcel-value"])
def test_a_350_eur_phone_needs_a_code(policy):
    assert decide(policy, phone()) == Decision(True, ("phone",))


@pytest.mark.parametrize("policy", both_rules(), ids=["any-line", "parcel-value"])
def test_a_50_eur_cable_does_not(policy):
    assert decide(policy, cable()) == Decision(False, ())


@pytest.mark.parametrize("policy", both_rules(), ids=["any-line", "parcel-value"])
@pytest.mark.parametrize(
    ("price", "required"),
    [("299.99", False), ("300", False), ("300.00", False), ("300.01", True)],
)
def test_the_threshold_is_strictly_above(policy, price, required):
    assert decide(policy, phone(price=price)).required is required


@pytest.mark.parametrize("policy", both_rules(), ids=["any-line", "parcel-value"])
def test_no_threshold_for_the_currency_qualifies_nothing_by_price(policy):
    expensive_usd = phone(currency="USD", price="100000")

    assert decide(policy, expensive_usd) == Decision(False, ())
    assert decide(policy, replace(expensive_usd, flag=ALWAYS)) == Decision(
        True, ("phone",)
    )


def test_an_empty_threshold_table_asks_only_for_always_products():
    policy = Policy(thresholds={})

    assert decide(policy, phone(price="99999")) == Decision(False, ())
    assert decide(policy, cable(flag=ALWAYS)) == Decision(True, ("cable",))


def test_thresholds_apply_per_currency():
    policy = Policy(thresholds={"EUR": Decimal(300), "PLN": Decimal(1200)})

    assert decide(policy, phone(currency="PLN", price="1000")).required is False
    assert decide(policy, phone(currency="PLN", price="1300")).required is True
    assert decide(policy, phone(currency="EUR", price="1000")).required is True


@pytest.mark.parametrize(
    ("policy_currency", "line_currency"),
    [("EUR", "eur"), ("eur", "EUR"), ("eUr", "EuR"), ("eur", "eur")],
)
def test_currencies_are_case_insensitive(policy_currency, line_currency):
    policy = Policy(thresholds={policy_currency: Decimal(300)})
    parcel_policy = replace(policy, parcel_rule=PARCEL_VALUE)

    assert policy.thresholds == {"EUR": Decimal(300)}
    assert policy.threshold(line_currency) == Decimal(300)
    assert decide(policy, phone(currency=line_currency)).required is True
    assert decide(policy, phone(currency=line_currency, price="300")).required is False
    assert decide(
        parcel_policy,
        phone("a", "200", currency=line_currency),
        phone("b", "200", currency=line_currency.swapcase()),
    ) == Decision(True, ("a", "b"))


def test_threshold_zero_asks_for_every_paid_line_but_not_free_ones():
    policy = Policy(thresholds={"EUR": Decimal(0)})

    assert decide(policy, cable(price="0.01")) == Decision(True, ("cable",))
    assert decide(policy, cable(price="0")) == Decision(False, ())


@pytest.mark.parametrize(
    "bad",
    [
        Decimal(-1),
        Decimal("-0.01"),
        -5,
        Decimal("NaN"),
        Decimal("sNaN"),
        float("nan"),
        Decimal("Infinity"),
        float("inf"),
        Decimal("-Infinity"),
    ],
    ids=str,
)
def test_negative_or_non_finite_thresholds_are_refused(bad):
    with pytest.raises(ValueError, match="EUR"):
        Policy(thresholds={"EUR": bad})


def test_thresholds_may_be_given_as_strings_and_ints():
    policy = Policy(thresholds={"eur": "300.00", "pln": 1200})

    assert policy.thresholds == {"EUR": Decimal(300), "PLN": Decimal(1200)}
    assert all(isinstance(v, Decimal) for v in policy.thresholds.values())


# --- explicit examples: flags and shipping --------------------------------------------


@pytest.mark.parametrize("policy", both_rules(), ids=["any-line", "parcel-value"])
def test_never_beats_price(policy):
    assert decide(policy, phone(price="5000", flag=NEVER)) == Decision(False, ())


@pytest.mark.parametrize("policy", both_rules(), ids=["any-line", "parcel-value"])
def test_always_beats_price_scope_and_currency(policy):
    scoped = replace(policy, category_slugs=frozenset({"jewellery"}))
    cheap = cable(price="0", currency="XYZ", flag=ALWAYS)

    assert decide(policy, cheap) == Decision(True, ("cable",))
    assert decide(scoped, cheap) == Decision(True, ("cable",))


@pytest.mark.parametrize("policy", both_rules(), ids=["any-line", "parcel-value"])
@pytest.mark.parametrize("flag", [DEFAULT, ALWAYS, NEVER])
def test_a_line_that_needs_no_shipping_never_qualifies(policy, flag):
    gift_card = line("gift", "5000", flag=flag, is_shipping_required=False)

    assert decide(policy, gift_card) == Decision(False, ())


@pytest.mark.parametrize("policy", both_rules(), ids=["any-line", "parcel-value"])
def test_a_line_with_nothing_shipped_does_not_count(policy):
    assert decide(policy, phone(quantity=0)) == Decision(False, ())
    assert decide(policy, phone(quantity=0, flag=ALWAYS)) == Decision(False, ())


def test_never_and_unshipped_lines_do_not_count_towards_a_parcel_value():
    policy = Policy(parcel_rule=PARCEL_VALUE)
    base = phone("a", "200")

    assert decide(policy, base, phone("b", "200", flag=NEVER)) == Decision(False, ())
    assert decide(
        policy, base, phone("b", "200", is_shipping_required=False)
    ) == Decision(False, ())
    assert decide(policy, base, phone("b", "200", quantity=0)) == Decision(False, ())
    assert decide(policy, base, phone("b", "200")) == Decision(True, ("a", "b"))


# --- explicit examples: scope ---------------------------------------------------------


def test_without_filters_every_line_is_in_scope():
    anything = line(category_slugs=(), product_type_slug=None)

    assert Policy().in_scope(anything)
    assert decide(Policy(), anything).required is True


def test_category_filter_matches_the_category_or_any_ancestor():
    for listed in ("smartphones", "phones", "electronics"):
        policy = Policy(category_slugs=frozenset({listed}))
        assert decide(policy, phone()) == Decision(True, ("phone",)), listed

    elsewhere = Policy(category_slugs=frozenset({"jewellery"}))
    assert decide(elsewhere, phone()) == Decision(False, ())
    # A listed category's descendants are in scope; its parent's other children are
    # not: the line's slugs are its own category and its ancestors only.
    phones_only = Policy(category_slugs=frozenset({"phones"}))
    laptop = line("laptop", "900", category_slugs=("laptops", "electronics"))
    assert decide(phones_only, laptop) == Decision(False, ())


def test_product_type_filter():
    policy = Policy(product_type_slugs=frozenset({"smartphone"}))

    assert decide(policy, phone()) == Decision(True, ("phone",))
    assert decide(policy, phone(product_type_slug="feature-phone")).required is False
    assert decide(policy, phone(product_type_slug=None)).required is False


def test_either_filter_suffices():
    policy = Policy(
        category_slugs=frozenset({"jewellery"}),
        product_type_slugs=frozenset({"smartphone"}),
    )
    by_type = phone("by-type")
    by_category = line("ring", "900", category_slugs=("rings", "jewellery"))
    by_neither = line(
        "laptop", "900", category_slugs=("laptops",), product_type_slug="laptop"
    )

    assert decide(policy, by_type) == Decision(True, ("by-type",))
    assert decide(policy, by_category) == Decision(True, ("ring",))
    assert decide(policy, by_neither) == Decision(False, ())
    assert decide(policy, by_type, by_neither, by_category) == Decision(
        True, ("by-type", "ring")
    )


def test_out_of_scope_expensive_lines_do_not_qualify_even_by_parcel_value():
    policy = Policy(category_slugs=frozenset({"phones"}), parcel_rule=PARCEL_VALUE)
    laptop = line("laptop", "5000", category_slugs=("laptops",))

    assert decide(policy, laptop) == Decision(False, ())
    assert decide(policy, laptop, phone("p", "100")) == Decision(False, ())
    assert decide(policy, laptop, phone("p", "301")) == Decision(True, ("p",))


# --- explicit examples: parcel rules and the order ------------------------------------


def test_any_line_needs_one_line_above_the_threshold_on_its_own():
    policy = Policy()

    assert decide(policy, phone("a", "200"), phone("b", "200")) == Decision(False, ())
    assert decide(policy, phone("a", "200", quantity=5)) == Decision(False, ())


def test_parcel_value_adds_up_the_in_scope_lines():
    policy = Policy(parcel_rule=PARCEL_VALUE)

    assert decide(policy, phone("a", "200")) == Decision(False, ())
    assert decide(policy, phone("a", "200"), phone("b", "200")) == Decision(
        True, ("a", "b")
    )
    assert decide(policy, phone("a", "150"), phone("b", "150")) == Decision(False, ())


def test_parcel_value_counts_the_quantity_shipped():
    policy = Policy(parcel_rule=PARCEL_VALUE)

    assert decide(policy, phone("a", "200", quantity=2)) == Decision(True, ("a",))
    assert decide(policy, phone("a", "100", quantity=3)) == Decision(False, ())
    assert decide(policy, phone("a", "100", quantity=4)) == Decision(True, ("a",))


def test_parcel_value_lists_always_lines_even_below_the_threshold():
    policy = Policy(parcel_rule=PARCEL_VALUE)
    watch = line("watch", "10", flag=ALWAYS)

    assert decide(policy, watch, cable()) == Decision(True, ("watch",))
    decision = decide(policy, watch, phone("a", "200"), phone("b", "200"))
    assert decision.required
    assert set(decision.qualifying_line_ids) == {"watch", "a", "b"}


def test_order_decision_looks_at_all_lines_together():
    lines = [
        line("gift", "500", is_shipping_required=False),
        cable("cable"),
        phone("phone"),
        phone("case", "20", flag=NEVER),
    ]

    assert order_decision(Policy(), lines) == Decision(True, ("phone",))
    assert order_decision(Policy(), lines[:2]) == Decision(False, ())
    # A generator is fine: lines are read once.
    assert order_decision(Policy(), iter(lines)) == Decision(True, ("phone",))


def test_order_decision_under_parcel_value_adds_up_the_whole_order():
    policy = Policy(parcel_rule=PARCEL_VALUE)
    lines = [cable("c1", "120"), cable("c2", "120", quantity=1), cable("c3", "61")]

    assert order_decision(policy, lines) == Decision(True, ("c1", "c2", "c3"))
    # Shipped one by one, no parcel would need a code.
    assert not any(decide(policy, one).required for one in lines)


def test_qualifying_line_ids_are_exactly_the_lines_that_made_it_so():
    policy = Policy(category_slugs=frozenset({"phones"}))
    lines = [
        phone("p1", "400"),
        phone("p2", "250"),
        phone("p3", "301", quantity=2),
        line("laptop", "2000", category_slugs=("laptops",)),
        line("watch", "10", flag=ALWAYS),
        phone("p4", "999", flag=NEVER),
        phone("p5", "999", is_shipping_required=False),
    ]

    assert order_decision(policy, lines) == Decision(True, ("p1", "p3", "watch"))


# --- properties -----------------------------------------------------------------------

CURRENCIES = ["EUR", "EUR", "eur", "USD", "PLN"]
BOUNDARY_PRICES = [Decimal(0), Decimal("0.01"), Decimal("150"), Decimal("299.99")]
BOUNDARY_PRICES += [Decimal(300), Decimal("300.00"), Decimal("300.01")]
prices = st.one_of(
    st.sampled_from(BOUNDARY_PRICES),
    st.decimals(min_value=0, max_value=400, places=2),
    st.decimals(min_value=0, max_value=5000, places=2),
)
slugs = st.text(alphabet="abc", min_size=1, max_size=2)
slug_sets = st.frozensets(slugs, max_size=3)
# Weighted towards the lines whose fate the price decides.
flags = st.sampled_from([DEFAULT, DEFAULT, DEFAULT, ALWAYS, NEVER])
rules = st.sampled_from(list(ParcelRule))


def line_with_id(line_id: str):
    return st.builds(
        Line,
        line_id=st.just(line_id),
        unit_price_gross=prices,
        currency=st.sampled_from(CURRENCIES),
        quantity=st.integers(0, 5),
        category_slugs=st.lists(slugs, max_size=3).map(tuple),
        product_type_slug=st.one_of(st.none(), slugs),
        flag=flags,
        is_shipping_required=st.sampled_from([True, True, True, False]),
    )


@st.composite
def line_lists(draw, min_size=0, max_size=6, prefix="L"):
    size = draw(st.integers(min_size, max_size))
    return [draw(line_with_id(f"{prefix}{i}")) for i in range(size)]


policies = st.builds(
    Policy,
    thresholds=st.one_of(
        st.just(dict(DEFAULT_THRESHOLDS)),
        st.dictionaries(
            st.sampled_from(CURRENCIES), prices.map(lambda p: p * 2), max_size=3
        ),
    ),
    # No filter at all is the common configuration: give it a fair share.
    category_slugs=st.one_of(st.just(frozenset()), slug_sets),
    product_type_slugs=st.one_of(st.just(frozenset()), slug_sets),
    parcel_rule=rules,
)

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


def counts(line: Line) -> bool:
    return line.is_shipping_required and line.quantity > 0 and line.flag is not NEVER


def in_scope(policy: Policy, line: Line) -> bool:
    filters = policy.category_slugs | policy.product_type_slugs
    if not filters:
        return True
    return bool(set(line.category_slugs) & policy.category_slugs) or (
        line.product_type_slug is not None
        and line.product_type_slug in policy.product_type_slugs
    )


def threshold(policy: Policy, currency: str) -> Decimal | None:
    matches = [t for c, t in policy.thresholds.items() if c.lower() == currency.lower()]
    return matches[0] if matches else None


def expected_ids(policy: Policy, lines: list[Line]) -> set[str]:
    """The docstring's rules, read independently of the implementation."""
    shipped = [line for line in lines if counts(line)]
    always = {line.line_id for line in shipped if line.flag is ALWAYS}
    priced = [
        line for line in shipped if line.flag is DEFAULT and in_scope(policy, line)
    ]
    if policy.parcel_rule is ANY_LINE:
        over = {
            line.line_id
            for line in priced
            if (limit := threshold(policy, line.currency)) is not None
            and line.unit_price_gross > limit
        }
        return always | over
    over = set()
    for currency in {line.currency.upper() for line in priced}:
        same = [line for line in priced if line.currency.upper() == currency]
        limit = threshold(policy, currency)
        value = sum(
            (line.unit_price_gross * line.quantity for line in same), Decimal(0)
        )
        if limit is not None and value > limit:
            over |= {line.line_id for line in same}
    return always | over


@PROPERTY_SETTINGS
@given(policy=policies, lines=line_lists())
def test_decision_is_consistent_and_never_raises(policy, lines):
    decision = parcel_decision(policy, lines)

    assert isinstance(decision, Decision)
    assert decision.required == bool(decision.qualifying_line_ids)
    assert set(decision.qualifying_line_ids) <= {line.line_id for line in lines}
    assert len(set(decision.qualifying_line_ids)) == len(decision.qualifying_line_ids)
    assert order_decision(policy, lines) == decision


@PROPERTY_SETTINGS
@given(policy=policies, lines=line_lists())
def test_never_and_unshipped_lines_never_qualify(policy, lines):
    ids = set(parcel_decision(policy, lines).qualifying_line_ids)

    for line in lines:
        if line.flag is NEVER or not line.is_shipping_required or line.quantity == 0:
            assert line.line_id not in ids


@PROPERTY_SETTINGS
@given(policy=policies, lines=line_lists())
def test_shipped_always_lines_always_qualify(policy, lines):
    ids = set(parcel_decision(policy, lines).qualifying_line_ids)

    for line in lines:
        if line.flag is ALWAYS and line.is_shipping_required and line.quantity > 0:
            assert line.line_id in ids


@pytest.mark.parametrize("rule", list(ParcelRule))
@PROPERTY_SETTINGS
@given(policy=policies, lines=line_lists())
def test_decision_follows_the_documented_rules(rule, policy, lines):
    policy = replace(policy, parcel_rule=rule)
    # Mixed-currency parcels are covered by the next two tests; Saleor orders have
    # a single currency, so this is the case that matters.
    currency = lines[0].currency if lines else "EUR"
    lines = [replace(line, currency=currency) for line in lines]

    decision = parcel_decision(policy, lines)

    assert set(decision.qualifying_line_ids) == expected_ids(policy, lines)
    if policy.parcel_rule is ANY_LINE:
        # In the order of the lines.
        assert list(decision.qualifying_line_ids) == [
            line.line_id
            for line in lines
            if line.line_id in decision.qualifying_line_ids
        ]


@PROPERTY_SETTINGS
@given(policy=policies, lines=line_lists())
def test_mixed_currencies_decide_as_documented(policy, lines):
    decision = parcel_decision(policy, lines)

    assert decision.required == bool(expected_ids(policy, lines))
    assert set(decision.qualifying_line_ids) == expected_ids(policy, lines)


def test_parcel_value_lists_only_lines_in_the_currency_that_went_over():
    policy = Policy(parcel_rule=PARCEL_VALUE)

    decision = decide(policy, phone("eur", "400"), phone("usd", "10", currency="USD"))

    assert decision == Decision(True, ("eur",))


@PROPERTY_SETTINGS
@given(policy=policies, lines=line_lists(), swap=st.booleans())
def test_currency_case_does_not_matter(policy, lines, swap):
    recased = [
        replace(
            line, currency=line.currency.swapcase() if swap else line.currency.lower()
        )
        for line in lines
    ]

    assert parcel_decision(policy, recased) == parcel_decision(policy, lines)


@PROPERTY_SETTINGS
@given(
    policy=policies,
    lines=line_lists(min_size=1),
    data=st.data(),
    raise_by=st.decimals(min_value="0.01", max_value=5000, places=2),
)
def test_raising_a_price_never_drops_the_requirement(policy, lines, data, raise_by):
    index = data.draw(st.integers(0, len(lines) - 1), label="index")
    raised = list(lines)
    raised[index] = replace(
        lines[index], unit_price_gross=lines[index].unit_price_gross + raise_by
    )

    before = parcel_decision(policy, lines)
    after = parcel_decision(policy, raised)

    if before.required:
        assert after.required
    assert set(before.qualifying_line_ids) <= set(after.qualifying_line_ids)


@PROPERTY_SETTINGS
@given(policy=policies, lines=line_lists())
def test_removing_the_filters_never_removes_a_qualifying_line(policy, lines):
    policy = replace(policy, parcel_rule=ANY_LINE)
    unfiltered = replace(
        policy, category_slugs=frozenset(), product_type_slugs=frozenset()
    )

    before = parcel_decision(policy, lines)
    after = parcel_decision(unfiltered, lines)

    assert set(before.qualifying_line_ids) <= set(after.qualifying_line_ids)
    if before.required:
        assert after.required


@PROPERTY_SETTINGS
@given(
    policy=policies,
    lines=line_lists(),
    extra=line_lists(min_size=1, max_size=3, prefix="X"),
)
def test_adding_a_line_never_drops_the_requirement(policy, lines, extra):
    before = parcel_decision(policy, lines)
    after = parcel_decision(policy, lines + extra)

    if before.required:
        assert after.required
    assert set(before.qualifying_line_ids) <= set(after.qualifying_line_ids)


@PROPERTY_SETTINGS
@given(policy=policies, lines=line_lists())
def test_parcel_value_asks_whenever_any_line_would(policy, lines):
    any_line = parcel_decision(replace(policy, parcel_rule=ANY_LINE), lines)
    by_value = parcel_decision(replace(policy, parcel_rule=PARCEL_VALUE), lines)

    if any_line.required:
        assert by_value.required
    assert set(any_line.qualifying_line_ids) <= set(by_value.qualifying_line_ids)


@PROPERTY_SETTINGS
@given(policy=policies, first=line_lists(prefix="A"), second=line_lists(prefix="B"))
def test_under_any_line_an_order_needs_a_code_iff_one_of_its_parcels_does(
    policy, first, second
):
    policy = replace(policy, parcel_rule=ANY_LINE)

    whole = order_decision(policy, first + second)
    parts = [parcel_decision(policy, first), parcel_decision(policy, second)]

    assert whole.required == any(part.required for part in parts)
    assert whole.qualifying_line_ids == (
        parts[0].qualifying_line_ids + parts[1].qualifying_line_ids
    )
