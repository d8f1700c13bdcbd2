"""Reading a price from a language model's next tokens: greedy text, or the top-K estimate.

Greedy decoding writes the most likely price text ("45.99") and parses it. It throws away what
the model knows about its own uncertainty: a model torn between $40 and $100 still says one of
them. The course's improved estimate takes the K most likely next tokens after "Price is $",
reads each as a price and averages them weighted by their probabilities (renormalised over the
candidates that are prices), which pulls an unsure answer towards the middle and lowers the mean
error. The course relied on Llama 3's tokenizer writing any number up to 999 as one token; here
each candidate token is completed greedily to a whole price, so tokenizers that split numbers
into several tokens work too. Candidates are chosen among tokens that begin with a digit (for a
fine-tuned model these are the top K anyway), so an unsure model still gives K prices.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import torch

from pricebench.errors import PriceParseError

_LEADING_NUMBER = re.compile(r"\s*(\d[\d,]*(?:\.\d+)?)")


def leading_number(text: str) -> float | None:
    """The number `text` starts with ("45.99</s>" -> 45.99), or None."""
    match = _LEADING_NUMBER.match(text)
    if match is None:
        return None
    value = float(match.group(1).replace(",", ""))
    return value if math.isfinite(value) else None


def digit_tokens(tokenizer: Any) -> torch.Tensor:
    """A boolean mask over the vocabulary: tokens whose text starts with a digit."""
    size = max(len(tokenizer), getattr(tokenizer, "vocab_size", 0))
    mask = torch.zeros(size, dtype=torch.bool)
    for token_id in range(size):
        text = tokenizer.decode([token_id], skip_special_tokens=True)
        mask[token_id] = bool(text) and text.lstrip()[:1].isdigit()
    return mask


def top_k_candidates(
    logits: torch.Tensor, k: int, allowed: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's probabilities and ids of the `k` likeliest next tokens, per row of `logits`.

    Probabilities come from the softmax over the whole vocabulary; `allowed` (a boolean mask
    over the vocabulary) restricts which tokens may be candidates, not how likely they are.
    """
    probs = torch.softmax(logits.float(), dim=-1)
    if allowed is not None:
        width = min(probs.shape[-1], allowed.shape[0])
        blocked = torch.ones_like(probs, dtype=torch.bool)
        blocked[..., :width] = ~allowed[:width].to(probs.device)
        probs = probs.masked_fill(blocked, -1.0)  # below any probability: never picked
        k = min(k, int(allowed[:width].sum()))
    if k < 1:
        raise PriceParseError("no token of the vocabulary begins a number")
    top_probs, top_ids = probs.topk(k, dim=-1)
    return top_probs.clamp(min=0.0), top_ids


def weighted_price(prices: Sequence[float | None], weights: Sequence[float]) -> float:
    """The probability-weighted mean of the candidate prices that are positive numbers.

    Weights are renormalised over those candidates; with none left the item fails.
    """
    kept = [
        (price, weight)
        for price, weight in zip(prices, weights, strict=True)
        if price is not None and price > 0 and weight > 0
    ]
    if not kept:
        raise PriceParseError(f"no candidate price among {list(prices)}")
    total = sum(weight for _, weight in kept)
    return sum(price * weight for price, weight in kept) / total
