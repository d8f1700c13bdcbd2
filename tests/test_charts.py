"""Charts: inline display in Jupyter, a legend for the colour bands, the currency in the titles."""

from __future__ import annotations

from pricebench import Item, Tester
from pricebench.compare.charts import BAND_COLOURS
from pricebench.items import ItemSet


def _results(currency: str = "USD"):
    items = [Item(id=str(n), title=f"thing {n}", text="t", price=10.0 * n) for n in range(1, 30)]
    return Tester(lambda item: item.price * 1.3, ItemSet(items, currency=currency)).run()


def test_a_run_chart_displays_itself_as_png():
    png = _results().chart()._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_the_scatter_has_a_legend_for_each_colour_band():
    scatter = _results().chart().axes[0]
    labels = [text.get_text() for text in scatter.get_legend().get_texts()]
    assert labels == ["y = x", "hit", "within twice the tolerance", "beyond"]
    assert "$40" in scatter.get_legend().get_title().get_text()


def test_chart_titles_and_axes_name_the_currency():
    scatter, trend = _results("GBP").chart().axes
    assert "error £" in scatter.get_title()
    assert "GBP" in scatter.get_xlabel() and "GBP" in trend.get_ylabel()


def test_the_middle_band_is_amber_not_olive():
    assert BAND_COLOURS["orange"].lower() == "#ffb000"
