"""One budget for a whole run across models (`--max-cost`, `ChatPricer.spend_from`) and the cost
estimate before a run (`pricebench run --dry-run`) (issue 28, item 2)."""

from __future__ import annotations

import re
import threading
import time

import httpx2
import pytest

from pricebench import Item, Tester
from pricebench.chat.budget import Budget
from pricebench.chat.estimate import prompt_tokens
from pricebench.chat.openai import OpenAIPricer
from pricebench.cli import main
from pricebench.errors import StopRun
from pricebench.results import Results
from tests.conftest import COURSE_ITEMS
from tests.mock_api import MockAPI, openai_client, openai_reply

SECRET = "sk-proj-budget-0000"
MODELS = ("openai:gpt-4o-mini", "openai:gpt-4.1-mini")
ITEMS = [
    Item(id=f"b{n}", title=f"Thing {n}", text=f"Thing number {n}", price=40.0) for n in range(40)
]
needs_data = pytest.mark.skipif(not COURSE_ITEMS.exists(), reason="shared data not present")


@pytest.fixture
def api(monkeypatch, tmp_path) -> MockAPI:
    api = MockAPI(default=openai_reply("Price is $99.00", prompt_tokens=150, completion_tokens=3))
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("PRICEBENCH_CACHE", str(tmp_path / "cache.sqlite"))
    monkeypatch.setattr(
        OpenAIPricer, "_make_client", lambda self, key: openai_client(api, api_key=key)
    )
    return api


def run(tmp_path, *extra: str, specs=MODELS) -> int:
    base = ["run", *specs, "--data", str(COURSE_ITEMS), "--size", "8"]
    return main([*base, "--out", str(tmp_path / "results"), "--workers", "3", *extra])


def spent(tmp_path) -> tuple[float, int]:
    runs = [Results.load(p) for p in sorted((tmp_path / "results").iterdir())]
    return sum(r.header.totals.get("cost", 0.0) for r in runs), sum(r.n_priced for r in runs)


def test_budget_holds_the_calls_in_flight_and_stops_before_the_cap():
    budget = Budget(max_cost=1.0)
    budget.reserve(0.4)
    budget.reserve(0.4)
    started = threading.Event()

    def third():
        started.set()
        budget.reserve(0.4)  # 0.8 held by the calls in flight: it waits for one to settle

    waiting = threading.Thread(target=third)
    waiting.start()
    started.wait()
    waiting.join(0.2)
    assert waiting.is_alive() and budget.held == pytest.approx(0.8)
    budget.settle(0.4, 0.1)  # one call came back: it cost 0.1, not its worst case
    waiting.join(5)
    assert not waiting.is_alive()
    assert budget.held == pytest.approx(0.8) and budget.cost == pytest.approx(0.1)
    budget.settle(0.4, None)  # a call that failed bills nothing
    budget.settle(0.4, 0.5)
    assert budget.calls == 2 and budget.held == 0 and budget.cost == pytest.approx(0.6)
    with pytest.raises(StopRun, match=r"\$0.6000 spent in 2 calls.*up to \$0.4100"):
        budget.reserve(0.41)  # could pass the cap even with nothing in flight
    assert budget.held == 0


@needs_data
def test_max_cost_spans_every_model_of_a_run_and_a_higher_cap_resumes(tmp_path, api, capsys):
    call = (150 * 0.15 + 3 * 0.6) / 1e6  # gpt-4o-mini's price; gpt-4.1-mini's is higher
    cap = 6 * call
    assert run(tmp_path, "--max-cost", f"{cap}") == 3  # stopped: resumable
    err = capsys.readouterr().err
    assert "cost budget" in err and "spent" in err
    cost, priced = spent(tmp_path)
    assert 0 < cost <= cap
    assert priced < 16
    paid = api.count
    assert paid == priced  # no call started past the cap
    assert run(tmp_path, "--max-cost", "1") == 0
    cost, priced = spent(tmp_path)
    assert priced == 16 and api.count == 16  # resumed where it stopped: nothing paid twice
    assert "of --max-cost $1.0000" in capsys.readouterr().err


def test_one_budget_shared_by_pricers_on_threads_never_passes_its_cap():
    """Two models priced at once on 8 threads each against one $ cap: the calls in flight hold
    their worst case, so the spend stays under the cap even though 16 are in flight at a time."""

    def slow(request):
        time.sleep(0.01)
        return httpx2.Response(200, json=openai_reply("Price is $42", prompt_tokens=40))

    client = openai_client(slow)
    budget = Budget(max_cost=0.0004)
    pricers = [
        OpenAIPricer(model, client=client, cache=False, max_tokens=50).spend_from(budget)
        for model in ("gpt-4o-mini", "gpt-4.1-mini")
    ]
    outcomes = []

    def run_one(pricer):
        outcomes.append(Tester(pricer, ITEMS, workers=8, progress=False).run())

    threads = [threading.Thread(target=run_one, args=(p,)) for p in pricers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum(r.header.totals["cost"] for r in outcomes)
    assert 0 < total <= budget.max_cost
    assert budget.cost == pytest.approx(total)
    assert any(r.header.status == "stopped" for r in outcomes)
    assert budget.held == pytest.approx(0.0)


@needs_data
def test_max_cost_is_refused_before_anything_for_a_model_without_a_price(tmp_path, api, capsys):
    specs = ("openai-compatible:my-model@http://127.0.0.1:9/v1",)
    assert run(tmp_path, "--max-cost", "1", specs=specs) == 2
    assert "no price known" in capsys.readouterr().err
    assert run(tmp_path, "--max-cost", "1", specs=("constant",)) == 2
    assert "--max-cost applies to API pricers" in capsys.readouterr().err
    assert run(tmp_path, "--max-cost", "1", "--batch") == 2
    assert "a batch job's calls are sent at once" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # argparse: not a positive amount
        run(tmp_path, "--max-cost", "0")
    assert refused.value.code == 2
    assert api.count == 0 and not (tmp_path / "results").exists()


@needs_data
def test_dry_run_prints_each_models_estimate_and_pays_nothing(tmp_path, api, capsys):
    assert run(tmp_path, "--dry-run", specs=(*MODELS, "constant")) == 0
    out = capsys.readouterr().out
    assert api.count == 0 and not (tmp_path / "results").exists()
    lines = {line.split(":", 2)[1]: line for line in out.splitlines() if line.startswith("openai:")}
    assert set(lines) == {"gpt-4o-mini", "gpt-4.1-mini"}
    assert "constant: no per-call cost" in out
    mini = lines["gpt-4o-mini"]
    calls, tokens, expected, ceiling = re.search(
        r"(\d+) calls, about ([\d,]+) prompt tokens; about \$([\d.]+) .* at most \$([\d.]+)", mini
    ).groups()
    tokens = int(tokens.replace(",", ""))
    assert calls == "8"
    # gpt-4o-mini: $0.15 / $0.60 a million; 8 output tokens expected, max_tokens 16 at most.
    assert float(expected) == pytest.approx((tokens * 0.15 + 8 * 8 * 0.6) / 1e6, rel=0.01)
    assert float(ceiling) == pytest.approx((tokens * 0.15 + 8 * 16 * 0.6) / 1e6, rel=0.01)
    assert "total for 8 items: about" in out
    assert run(tmp_path, "--dry-run", "--batch", specs=MODELS[:1]) == 0
    batch = re.search(r"about \$([\d.]+) \(", capsys.readouterr().out).group(1)
    assert float(batch) == pytest.approx(float(expected) / 2, rel=0.01)  # half price
    # The items the cache holds are free: after a real run, the estimate says so.
    assert run(tmp_path, specs=MODELS[:1]) == 0
    assert run(tmp_path, "--dry-run", specs=MODELS[:1]) == 0
    assert "0 calls (8 answered from the cache)" in capsys.readouterr().out


@needs_data
def test_dry_run_needs_no_key(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert run(tmp_path, "--dry-run", specs=MODELS[:1]) == 0
    assert "openai:gpt-4o-mini: 8 calls" in capsys.readouterr().out


def test_prompt_tokens_count_every_message_and_the_system_prompt():
    one = prompt_tokens({"messages": [{"role": "user", "content": "a red kettle for $40"}]})
    two = prompt_tokens(
        {
            "system": "You estimate prices.",
            "messages": [{"role": "user", "content": "a red kettle for $40"}],
        }
    )
    assert 0 < one < two


def test_a_small_cap_is_written_with_the_digits_it_needs():
    from pricebench.chat.budget import Budget
    from pricebench.errors import BudgetReached

    budget = Budget(max_cost=0.00003)
    with pytest.raises(BudgetReached) as stopped:
        budget.reserve(0.0000335)
    message = str(stopped.value)
    assert "cost budget ($0.000030)" in message and "up to $0.000034" in message
