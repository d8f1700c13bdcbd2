"""parse_price: examples for each documented rule, and properties over generated replies."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricebench.errors import PriceParseError
from pricebench.parse import parse_price


@pytest.mark.parametrize(
    ("reply", "price"),
    [
        ("$1,299.99", 1299.99),
        ("Price is $45", 45.0),
        ("about 45 dollars", 45.0),
        ("45.00 USD", 45.0),
        ("between 40 and 50", 45.0),
        ("$40 to $50", 45.0),
        ("40-50", 45.0),
        ("40 \u2013 50 dollars", 45.0),
        ("1.2e3", 1200.0),
        ("Price is $45.", 45.0),
        ("A 2-pack costs $30", 30.0),  # a price with a currency sign wins over a bare number
        ("US$ 12", 12.0),
        ("£12.99", 12.99),
        (".5", 0.5),
        ("40 and 50", 40.0),  # "and" makes a range only after "between"
    ],
)
def test_examples(reply, price):
    assert parse_price(reply) == pytest.approx(price)


@pytest.mark.parametrize(
    "reply", ["", "I cannot estimate that.", "-45", "-$45", "Price is -$45", "1e999", "$"]
)
def test_failures_keep_the_reply(reply):
    with pytest.raises(PriceParseError) as caught:
        parse_price(reply)
    assert caught.value.reply == reply


prices = st.decimals(min_value="0.01", max_value="999999.99", places=2).map(float)
# Words around a price: no digits, currency signs or dashes that would change its meaning.
words = st.text(
    alphabet=st.characters(whitelist_categories=("L", "Zs"), blacklist_characters="$£€-\u2212"),
    max_size=30,
).filter(lambda s: not s.rstrip().lower().endswith(("between", "us", "e")))
formats = st.sampled_from(
    [
        "${:,.2f}",
        "Price is ${:.2f}",
        "about {:.2f} dollars",
        "{:.2f} USD",
        "{:,.2f}",
        "{:e}",
        "Price is ${:.2f}.",
        "£{:.2f}",
    ]
)


@given(price=prices, template=formats, before=words, after=words)
def test_a_price_in_words_is_read_back(price, template, before, after):
    reply = f"{before} {template.format(price)} {after}"
    assert parse_price(reply) == pytest.approx(price, rel=1e-6)


@given(
    low=prices, high=prices, template=st.sampled_from(["between {} and {}", "${}-${}", "{} to {}"])
)
def test_a_range_gives_its_midpoint(low, high, template):
    reply = template.format(f"{low:.2f}", f"{high:.2f}")
    assert parse_price(reply) == pytest.approx((low + high) / 2)


@given(price=prices, before=words, sign=st.sampled_from(["-", "-$", "\u2212", "$-"]))
def test_a_negative_price_is_a_failure(price, before, sign):
    reply = f"{before} {sign}{price:.2f}"
    with pytest.raises(PriceParseError):
        parse_price(reply)


@given(reply=st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=60))
def test_no_digit_no_price(reply):
    with pytest.raises(PriceParseError) as caught:
        parse_price(reply)
    assert caught.value.reply == reply


@given(reply=st.text(max_size=80))
def test_any_reply_gives_a_finite_price_or_a_parse_error(reply):
    try:
        price = parse_price(reply)
    except PriceParseError:
        return
    assert math.isfinite(price) and price >= 0
