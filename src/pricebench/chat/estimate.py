"""What chat calls will cost before they are made: one call's worst case (checked against a run's
`--max-cost`) and a run's estimate (`pricebench run --dry-run`).

Prompt tokens are counted with pricebench's approximate tokenizer (`pipeline.curate.count_tokens`,
within a few percent of real tokenizers on product texts) plus a few tokens per message for the
role and separators. The output is the model's whole `max_tokens` for the worst case, and for the
expected cost the reply a price takes ("Price is $42.00"), or half the output budget on models
that reason or think before answering (their reasoning is billed as output).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pricebench.chat.budget import dollars
from pricebench.chat.cache import cache_key
from pricebench.chat.costs import PRICES_ENV, TokenUsage
from pricebench.items import Item
from pricebench.pipeline.curate import count_tokens

if TYPE_CHECKING:
    from pricebench.chat.base import ChatPricer

MESSAGE_TOKENS = 4  # a message's role and separators
REPLY_TOKENS = 8  # "Price is $42.00" and the end of the turn


def prompt_tokens(request: Mapping[str, Any]) -> int:
    """The approximate prompt tokens of a request body (either provider's)."""
    messages = request.get("messages") or request.get("input") or []
    texts = [_text(m.get("content")) for m in messages if isinstance(m, Mapping)]
    system = request.get("system")
    if system:
        texts.append(_text(system))
    return sum(count_tokens(text) + MESSAGE_TOKENS for text in texts)


def expected_output_tokens(pricer: ChatPricer) -> int:
    """The output tokens a reply is expected to bill: a short price, or half the output budget
    on a model that reasons or thinks first."""
    info = pricer.info
    if info.reasoning or info.family.thinking == "always":
        return max(REPLY_TOKENS, pricer.max_tokens // 2)
    return min(REPLY_TOKENS, pricer.max_tokens)


def worst_case(pricer: ChatPricer, request: Mapping[str, Any]) -> float | None:
    """US dollars one call can cost at most: its prompt and its whole `max_tokens`."""
    usage = TokenUsage(input_tokens=prompt_tokens(request), output_tokens=pricer.max_tokens)
    return pricer.cost(usage)


@dataclass(frozen=True)
class RunEstimate:
    """What pricing some items with one chat pricer should cost, before any call."""

    name: str
    items: int
    cached: int  # answered from the response cache: free
    prompt_tokens: int
    output_tokens: int  # expected a reply
    max_tokens: int
    expected: float | None  # US dollars; None when the model's price is unknown
    ceiling: float | None

    def line(self) -> str:
        """One line for `pricebench run --dry-run`."""
        paid = self.items - self.cached
        cached = f" ({self.cached} answered from the cache)" if self.cached else ""
        if self.expected is None or self.ceiling is None:
            cost = f"cost unknown (no price for this model: ${PRICES_ENV} or set_price give one)"
        else:
            cost = (
                f"about {dollars(self.expected)} ({self.output_tokens} output tokens a reply), "
                f"at most {dollars(self.ceiling)} (max_tokens {self.max_tokens})"
            )
        return (
            f"{self.name}: {paid} calls{cached}, about {self.prompt_tokens:,} prompt tokens; {cost}"
        )


def estimate_run(pricer: ChatPricer, items: Sequence[Item], *, batch: bool = False) -> RunEstimate:
    """The cost of pricing `items` with `pricer` (at batch prices with `batch`), counting the
    items its cache already holds as free (the pricer must be fitted when its prompt has a
    retrieval context)."""
    cache = pricer.response_cache
    prompt, cached, expected, ceiling = 0, 0, 0.0, 0.0
    known = True
    output = expected_output_tokens(pricer)
    for item in items:
        request = pricer.request(item)
        key = cache_key(pricer.cache_namespace, pricer.model, request)
        if cache is not None and cache.get(key) is not None:
            cached += 1
            continue
        tokens = prompt_tokens(request)
        prompt += tokens
        likely = pricer.cost(TokenUsage(input_tokens=tokens, output_tokens=output), batch=batch)
        most = pricer.cost(
            TokenUsage(input_tokens=tokens, output_tokens=pricer.max_tokens), batch=batch
        )
        if likely is None or most is None:
            known = False
            continue
        expected += likely
        ceiling += most
    return RunEstimate(
        name=pricer.name,
        items=len(items),
        cached=cached,
        prompt_tokens=prompt,
        output_tokens=output,
        max_tokens=pricer.max_tokens,
        expected=expected if known else None,
        ceiling=ceiling if known else None,
    )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        return " ".join(_text(part.get("text")) for part in content if isinstance(part, Mapping))
    return "" if content is None else str(content)
