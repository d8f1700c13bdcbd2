"""Attacks on the outputs (issue 30, items 1 and 2): a currency that would run as script in the
HTML report or break terminal markup, and a play name that would write outside --out.

Input is checked where it enters (the option, the loader, a saved run's header), and output is
escaped for where it goes, so that each guard holds even when the other is bypassed.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from pricebench import Item, Tester, load_dataset
from pricebench.cli import main
from pricebench.cli.common import results_table
from pricebench.compare.report import html_report
from pricebench.currency import CurrencyError, check_currency
from pricebench.errors import ResultsError
from pricebench.items import ItemSet
from pricebench.results import Results, read_run

SCRIPT = "<img src=x onerror=alert(1)>"
ATTACKS = [
    SCRIPT,
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "[/]",  # rich markup: closes a tag that is not open
    "[link=javascript:alert(1)]x",
    "US D",
    "",
    "x" * 10,
    "$\n",
    "€;",
]


def _data(tmp_path: Path) -> Path:
    """A small JSONL file with a train and a test split."""
    path = tmp_path / "items.jsonl"
    lines = [
        {"id": f"s{n}", "title": f"Thing {n}", "text": f"Thing {n}", "price": 10.0 + n,
         "split": "train" if n < 6 else "test"}
        for n in range(10)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_currency_that_is_no_code_or_symbol_is_refused(attack):
    with pytest.raises(CurrencyError, match="neither an ISO 4217 code"):
        check_currency(attack)


@pytest.mark.parametrize(
    ("given", "kept"),
    [("USD", "USD"), ("gbp", "GBP"), ("$", "$"), ("£", "£"), ("kr", "kr"), ("R$", "R$"),
     ("US$", "US$"), ("₹", "₹"), ("zł", "zł"), ("Rs.", "Rs.")],
)  # fmt: skip
def test_codes_and_short_symbols_are_currencies(given, kept):
    assert check_currency(given) == kept


@pytest.mark.parametrize("attack", [SCRIPT, "[/]"])
def test_the_currency_option_is_refused_before_anything_is_written(attack, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main(["run", "random", "--data", str(_data(tmp_path)), "--currency", attack,
              "--out", str(out), "-v"])  # fmt: skip
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--currency" in err and "ISO 4217" in err and "Traceback" not in err
    assert not out.exists()


def test_the_loader_and_item_sets_refuse_such_a_currency(tmp_path):
    with pytest.raises(CurrencyError):
        load_dataset(_data(tmp_path), currency=SCRIPT)
    with pytest.raises(CurrencyError):
        ItemSet([], currency="[/]")


def test_a_shared_run_json_with_a_crafted_currency_is_refused_by_report(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "random", "--data", str(_data(tmp_path)), "--out", str(out)]) == 0
    header_file = out / "random" / "run.json"
    header = json.loads(header_file.read_text())
    header["currency"] = SCRIPT
    header_file.write_text(json.dumps(header))
    page = tmp_path / "r.html"
    assert main(["report", str(out), "--html", str(page)]) == 2
    err = capsys.readouterr().err
    assert "run.json" in err and "currency" in err
    assert not page.exists()
    with pytest.raises(ResultsError, match="currency"):
        read_run(out / "random")


def _crafted(currency: str) -> Results:
    """A run whose header got its currency past every check (built without validation)."""
    items = [Item(id=f"c{n}", title=f"C {n}", text=f"C {n}", price=5.0 + n) for n in range(4)]
    truth = {item.id: item.price for item in items}
    run = Tester(lambda item: truth[item.id] + 1, items).run()
    header = run.header.model_construct(**{**dict(run.header), "currency": currency})
    return Results(header, run.records)


def test_the_html_report_escapes_the_currency_wherever_it_is_written():
    page = html_report([_crafted(SCRIPT)])
    assert SCRIPT not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_terminal_table_escapes_the_currency():
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(results_table([_crafted("[/]")]))
    assert "[/]" in buffer.getvalue()


# --- 2. play --name ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "ABSOLUTE", "..", "a/../../b"])
def test_play_name_never_leads_outside_out(name, tmp_path, capsys, monkeypatch):
    name = name.replace("ABSOLUTE", str(tmp_path / "escaped"))
    base = tmp_path / "d"
    out = base / "out"
    monkeypatch.setattr("sys.stdin", io.StringIO("20\nq\n"))
    code = main(["play", "--data", str(_data(tmp_path)), "--size", "2", "--out", str(out),
                 "--name", name])  # fmt: skip
    assert code == 0
    written = [p for p in tmp_path.rglob("run.json")]
    assert len(written) == 1 and written[0].parent.parent == out
    assert not (tmp_path / "escaped").exists()
    assert json.loads(written[0].read_text())["pricer"] == name  # the full name is kept
    assert "is written to" in capsys.readouterr().err
