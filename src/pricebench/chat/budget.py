"""A spending cap in API calls and US dollars, shared by the runs that spend against it.

`Budget` keeps the count (thread-safe) and says when a cap is reached; `Budget.guard(pricer)`
wraps a pricer so that each answer is counted and the run ends cleanly (`StopRun`) once the
budget is spent. A call answered from the cache, or one that used no tokens, is free.

A run's budget across models (`pricebench run --max-cost USD`, `ChatPricer.spend_from(budget)`)
is checked before each call: `reserve` holds the call's worst case (its prompt and its whole
`max_tokens` at list price) until `settle` replaces it with what the call cost, so that the
calls in flight on other threads and models can never carry the spend past the cap. A call that
fits the cap only once calls in flight have settled waits for them; one that cannot fit even then
ends the run.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from pricebench.errors import BudgetReached
from pricebench.items import Item
from pricebench.pricer import Estimate, Pricer, estimate_one


class _Answer(Protocol):
    @property
    def cached(self) -> bool: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...


def paid_call(answer: _Answer) -> bool:
    """Whether an answer (an `Estimate` or a run's `ItemResult`) cost an API call."""
    return not answer.cached and bool(answer.input_tokens + answer.output_tokens)


class Budget:
    """Calls and dollars spent so far against optional caps; `None` caps nothing."""

    def __init__(self, max_calls: int | None = None, max_cost: float | None = None) -> None:
        self.max_calls = max_calls
        self.max_cost = max_cost
        self.calls = 0
        self.cost = 0.0
        self.held = 0.0  # worst cases of the calls in flight (`reserve`)
        self.lock = threading.Lock()
        self._settled = threading.Condition(self.lock)

    @property
    def limited(self) -> bool:
        return self.max_calls is not None or self.max_cost is not None

    def add(self, calls: int, cost: float) -> None:
        with self.lock:
            self.calls += calls
            self.cost += cost

    def exhausted(self) -> str | None:
        """Why no more may be spent, or None while there is budget left."""
        if self.max_calls is not None and self.calls >= self.max_calls:
            return f"call budget ({self.max_calls}) reached"
        if self.max_cost is not None and self.cost >= self.max_cost:
            return f"cost budget ({dollars(self.max_cost)}) reached: {dollars(self.cost)} spent"
        return None

    def reserve(self, worst: float) -> None:
        """Hold `worst` dollars for a call about to start, once the spend so far, the calls in
        flight and this one fit `max_cost` together (waiting for calls in flight to settle);
        `StopRun` (nothing held) when the spend so far and this call alone could pass it."""
        with self._settled:
            while self.max_cost is not None:
                if self.cost + worst > self.max_cost:
                    raise BudgetReached(
                        f"cost budget ({dollars(self.max_cost)}) reached: {dollars(self.cost)} "
                        f"spent in {self.calls} calls, and the next could cost up to "
                        f"{dollars(worst)} "
                        "(a higher cap, e.g. --max-cost, goes on where this stopped)"
                    )
                if self.cost + self.held + worst <= self.max_cost:
                    break
                self._settled.wait()  # a call in flight settles, and frees what it held
            self.held += worst

    def settle(self, worst: float, cost: float | None) -> None:
        """A call that held `worst` is over: count what it cost (None or 0: nothing billed)."""
        with self._settled:
            self.held = max(0.0, self.held - worst)
            if cost:
                self.calls += 1
                self.cost += cost
            self._settled.notify_all()

    def check(self) -> None:
        """Raise `BudgetReached` (a `StopRun`) once the budget is spent."""
        if reason := self.exhausted():
            raise BudgetReached(reason)

    def guard(self, pricer: Pricer) -> Pricer:
        """`pricer` counted against this budget, its training cost (`training_cost_`) first."""
        self.add(0, float(getattr(pricer, "training_cost_", 0.0) or 0.0))
        return BudgetedPricer(pricer, self)


class BudgetedPricer:
    """A pricer that counts what each answer cost and ends the run once the budget is spent."""

    def __init__(self, pricer: Pricer, budget: Budget) -> None:
        self.pricer = pricer
        self.budget = budget
        self.name = pricer.name

    def get_params(self) -> dict[str, Any]:
        get_params = getattr(self.pricer, "get_params", None)
        return get_params() if get_params is not None else {}

    def estimate(self, item: Item) -> Estimate:
        self.budget.check()
        estimate = estimate_one(self.pricer, item)
        self.budget.add(int(paid_call(estimate)), estimate.cost or 0.0)
        return estimate

    def predict(self, item: Item) -> float:
        return self.estimate(item).price


def dollars(amount: float) -> str:
    """US dollars with the digits a small amount needs ("$0.000243", "$12.5000"): two decimals
    made a $0.00003 cap read "$0.00"."""
    return f"${amount:,.4f}" if amount >= 0.01 else f"${amount:.6f}"
