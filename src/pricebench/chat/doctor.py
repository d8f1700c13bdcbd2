"""`pricebench doctor`: check the model catalogue against what a real API does, with one's own key.

For one spec: price one item the way pricebench does, then probe each rule the catalogue states
with one small call each (a prefill turn, a temperature, the older `max_tokens`, the lowest
reasoning effort) and compare what the API did with what the catalogue says. A handful of calls
of a few tokens each: a minute and a few cents per model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pricebench.chat.base import ChatPricer, error_kind
from pricebench.errors import PricebenchError, StopRun
from pricebench.items import Item
from pricebench.redact import redact

ITEM = Item(
    id="doctor",
    title="Stainless steel kettle, 1.7 l",
    text="Stainless steel kettle, 1.7 l\nFast boil, auto shut-off, 3000 W.",
    price=35.0,
)
DEFAULTS = {
    "OPENAI_API_KEY": ["openai:gpt-5.4-mini", "openai:gpt-5.5"],
    "ANTHROPIC_API_KEY": ["anthropic:claude-haiku-4-5", "anthropic:claude-sonnet-4-6"],
}


class Unreachable(PricebenchError):
    """The API could not be reached at all: nothing is known about its rules."""


@dataclass(frozen=True)
class Check:
    rule: str
    expected: str
    observed: str

    @property
    def agrees(self) -> bool:
        return self.expected == self.observed or (
            self.expected == "a price" and self.observed.startswith("priced")
        )


def default_specs() -> list[str]:
    """Two current models per provider whose key is set (none with a shutdown date)."""
    return [spec for key, specs in DEFAULTS.items() if os.environ.get(key) for spec in specs]


def run_checks(spec: str, client: Any = None) -> list[Check]:
    """What the catalogue says and what the API did, rule by rule, for one chat pricer spec."""
    from pricebench.registry import make_pricer

    options: dict[str, Any] = {"cache": False, "max_retries": 1}
    if client is not None:
        options["client"] = client
    pricer = make_pricer(spec, **options)
    if not isinstance(pricer, ChatPricer):
        raise PricebenchError(f"{spec}: not a chat pricer")
    info = pricer.info
    family = info.family
    checks = [Check("an item, as pricebench sends it", "a price", _priced(pricer, spec))]
    base = pricer.request(ITEM)

    def probe(
        rule: str, accepted: bool, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        expected = "accepted" if accepted else "rejected"
        checks.append(Check(rule, expected, _outcome(pricer, change(dict(base)))))

    if family.provider == "anthropic" and pricer.prompt.prefill:
        prefill = {"role": "assistant", "content": pricer.prompt.prefill}
        probe(
            "assistant prefill",
            family.prefill,
            lambda body: {**body, "messages": [*_plain(body["messages"]), prefill]},
        )
    probe("temperature 0", family.temperature, lambda body: {**body, "temperature": 0.0})
    if family.provider == "openai" and getattr(pricer, "api", "chat") == "chat":
        limit = family.token_parameter
        probe(
            "max_tokens (the older name)",
            not info.reasoning,
            lambda body: (
                {k: v for k, v in body.items() if k != limit} | {"max_tokens": body[limit]}
            ),
        )
    if info.efforts:
        lowest = info.efforts[0]
        if family.provider == "anthropic":
            probe(
                f"effort {lowest!r}",
                True,
                lambda body: {**body, "output_config": {"effort": lowest}},
            )
        elif getattr(pricer, "api", "chat") == "chat":
            probe(
                f"reasoning_effort {lowest!r}",
                True,
                lambda body: {**body, "reasoning_effort": lowest},
            )
    return checks


def _plain(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation without a trailing assistant turn."""
    return [m for m in messages if m is not messages[-1] or m.get("role") != "assistant"]


def _priced(pricer: ChatPricer, spec: str) -> str:
    """The first check; `Unreachable` when no answer came at all (no network, a wrong address)."""
    try:
        return f"priced ${pricer.estimate(ITEM).price:,.2f}"
    except Exception as error:
        if error_kind(error) == "connection":
            raise Unreachable(f"{spec}: {type(error).__name__}: {redact(str(error))}") from None
        return f"failed: {redact(str(error))[:160]}"


def _outcome(pricer: Any, body: dict[str, Any]) -> str:
    try:
        pricer.send(body)
    except StopRun as error:
        return f"stopped: {redact(str(error))[:160]}"
    except Exception as error:
        status = getattr(error, "status_code", None)
        if status in (400, 422):
            return "rejected"
        return f"failed: {type(error).__name__}: {redact(str(error))[:160]}"
    finally:
        pricer._streak = ("", 0)  # probes are meant to fail: they must not stop anything
    return "accepted"
