import pytest
from pydantic import ValidationError

from pricebench import Item, fingerprint


def make(**overrides):
    fields = {"id": "a", "title": "A thing", "text": "A thing, red", "price": 12.5} | overrides
    return Item(**fields)


def test_item_keeps_its_fields():
    item = make(category="Toys", extras={"brand": "Acme"})
    assert (item.price, item.category, item.extras["brand"]) == (12.5, "Toys", "Acme")


def test_price_given_as_text_is_read_as_a_number():
    assert make(price="7.25").price == 7.25


@pytest.mark.parametrize(
    ("price", "message"),
    [
        (None, "price is missing"),
        (0, "price must be a positive number"),
        (-3, "price must be a positive number"),
        ("abc", "price must be a number"),
        (float("nan"), "price must be a positive number"),
        (True, "price must be a number"),
    ],
)
def test_bad_prices_are_rejected_with_a_clear_message(price, message):
    with pytest.raises(ValidationError, match=message):
        make(price=price)


def test_fingerprint_ignores_order_but_not_prices():
    a, b = make(id="a"), make(id="b", price=3)
    assert fingerprint([a, b]) == fingerprint([b, a])
    assert fingerprint([a, b]) != fingerprint([a, make(id="b", price=4)])
    assert len(fingerprint([a])) == 12
