"""Reading a price from a language model's next tokens: greedy text, or the top-K estimate.

Greedy decoding writes the most likely price text ("45.99") and parses it. It throws away what
the model knows about its own uncertainty: a model torn between $40 and $100 still says one of
them. The course's improved estimate takes the K most likely next tokens after "Price is $",
reads each as a price and averages them weighted by their probabilities (renormalised over the
K), which pulls an unsure answer towards the middle and lowers the mean error. It relies on
Llama 3's tokenizer writing any whole number below 1000 as one token.

Here the estimate is defined on whole prices, so that it means the same for any tokenizer. The
probability of a price is the probability of its whole token sequence: the tokens of its
dollars (the number up to its first character that is not a digit or a comma), times the
probability that the number ends there (one minus the probability of any token that would add
digits). `top_prices` finds the K likeliest whole prices exactly, by a best-first search: adding
a token only lowers a number's probability, so a complete number at the head of a priority queue
is likelier than anything still to be found. (A K-beam that started from the K likeliest first
tokens, used before, missed a likely "8" behind a likely but spread-out "1..."; on SmolLM2 its
top 3 was the true one on 5 of 16 course test items.) The estimate is the mean of the K prices
weighted by their probabilities, renormalised over them. When every price is one token and the
model ends the number after it (Llama 3 under $1,000), the K prices and their weights are exactly
the course's; when digits come one by one (SmolLM2, Qwen, Gemma, Mistral), "149" is weighed as
P(1) P(4|1) P(9|14) P(end|149), never by its first digit alone. Cost: one forward pass over the
prompt, then one row per number expanded (SmolLM2: 18 per item on average, at most 42 on 20
items), each reading the number's few tokens after the prompt's cached keys and values. The
estimate is in whole dollars, as the course's was (cents written after the number are not read).

A candidate "0" is a whole price the model writes ("0.99", cents unread): it takes its place
among the K, but $0 is no price, so it gets no weight and the others are renormalised, as the
course's code did (`if result > 0`); an item whose candidates are all "0" fails.

A digit-by-digit vocabulary lets a candidate be any size, where Llama 3's single tokens stop at
999: on SmolLM2 one "325,000" with a weight of 0.28 made a $379.95 item a $90,352 guess. So a
pricer may set a ceiling (`HFPricer` learns it from the training prices), and a candidate above
it counts at the ceiling. Below the ceiling nothing changes, so the course's estimate is kept
whenever its candidates are prices the training data holds.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from pricebench.errors import PriceParseError

_LEADING_NUMBER = re.compile(r"\s*(\d[\d,]*(?:\.\d+)?)")
_NUMBER_PART = re.compile(r"[\d,]+")


def leading_number(text: str) -> float | None:
    """The number `text` starts with ("45.99</s>" -> 45.99), or None."""
    match = _LEADING_NUMBER.match(text)
    if match is None:
        return None
    value = float(match.group(1).replace(",", ""))
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class NumberVocabulary:
    """Which tokens begin a number and which only add digits to one.

    `starts`: the token's text is optional whitespace then a digit (it may begin a price).
    `continues`: the text is only digits and commas (after a number, it makes the number longer).
    A start token that is not a continuation ("5." in some vocabularies) ends its number itself.
    """

    starts: torch.Tensor
    continues: torch.Tensor
    texts: list[str] = field(repr=False)

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> NumberVocabulary:
        starts = [bool(t) and t.lstrip()[:1].isdigit() for t in texts]
        continues = [bool(t) and _NUMBER_PART.fullmatch(t) is not None for t in texts]
        return cls(torch.tensor(starts), torch.tensor(continues), list(texts))

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> NumberVocabulary:
        size = max(len(tokenizer), getattr(tokenizer, "vocab_size", 0))
        texts = [tokenizer.decode([i], skip_special_tokens=True) for i in range(size)]
        return cls.from_texts(texts)


@dataclass(frozen=True)
class Candidate:
    """One whole price the search found: its tokens, text, value and log-probability."""

    tokens: tuple[int, ...]
    text: str
    value: float | None
    logprob: float


# expand(rows) -> log-probabilities of the next token after each row, one row per (item, tokens):
# the item's prompt followed by `tokens`, the number read so far.
Expand = Callable[[Sequence[tuple[int, tuple[int, ...]]]], torch.Tensor]

# Numbers expanded (next-token distributions read) per item before the search stops: on SmolLM2
# the course's first 20 test items needed 18 on average and at most 42, so the bound is a guard
# against a pathological model, not a setting that shapes normal results.
MAX_EXPANSIONS = 256


@dataclass(frozen=True)
class Search:
    """One item's search: its likeliest whole prices, best first, and what they cost.

    `expanded`: prefixes whose next-token distribution was read; `tokens`: tokens fed through
    the model for them. `exact` is False when the search hit its bound on expansions before the
    K prices were out: the rest are then the likeliest numbers left open, at their probability
    so far (what a number cut by `max_tokens` gets), so they may not be the true next prices.
    """

    candidates: list[Candidate]
    expanded: int
    tokens: int
    exact: bool


@dataclass(order=True)
class _Entry:
    key: float  # minus the log-probability: heapq pops the smallest
    order: int  # ties pop in the order they were pushed
    tokens: tuple[int, ...] = field(compare=False)
    complete: bool = field(compare=False)


def top_prices(
    first: torch.Tensor,
    expand: Expand,
    vocab: NumberVocabulary,
    k: int,
    max_tokens: int = 8,
    max_expansions: int = MAX_EXPANSIONS,
    width: int = 8,
) -> list[Search]:
    """The `k` likeliest whole prices of each item, by a best-first (uniform-cost) search.

    `first` ([items, vocabulary]) is the next-token distribution after each prompt. Each item has
    a priority queue of numbers: open ones (digits may follow) and complete ones (the number ended
    there, its end probability included). Adding a token only lowers a number's probability, so
    when a complete number is the likeliest in the queue no other can beat it: popping complete
    numbers in order gives the true K likeliest. An open number at the head is expanded: its next
    token's distribution is read (`expand`, every item's in one call) and it goes back as its
    complete self and one open child per digit token. `width` open numbers are expanded at once
    per item (more is fewer calls but wasted rows); `max_expansions` bounds the work (`Search`).
    """
    starts = vocab.starts[: first.shape[1]]
    continues = vocab.continues[: first.shape[1]]
    if not bool(starts.any()):
        raise PriceParseError("no token of the vocabulary begins a number")
    pushed = itertools.count()
    queues: list[list[_Entry]] = []
    for row in first.float().cpu().masked_fill(~starts, -math.inf):
        queue: list[_Entry] = []
        for token, score in _finite(row):
            ends = not bool(continues[token]) or max_tokens == 1  # "5." ends inside the token
            queue.append(_Entry(-score, next(pushed), (token,), ends))
        heapq.heapify(queue)
        queues.append(queue)
    found: list[list[Candidate]] = [[] for _ in queues]
    expanded, fed = [0] * len(queues), [0] * len(queues)
    exact = [True] * len(queues)
    while True:
        rows: list[tuple[int, _Entry]] = []
        for i, queue in enumerate(queues):
            while queue and queue[0].complete and len(found[i]) < k:
                entry = heapq.heappop(queue)
                found[i].append(_candidate(vocab, entry.tokens, -entry.key))
            if len(found[i]) == k or not queue:
                continue
            if expanded[i] >= max_expansions:
                exact[i] = False
                while queue and len(found[i]) < k:  # what is left, at its probability so far
                    entry = heapq.heappop(queue)
                    found[i].append(_candidate(vocab, entry.tokens, -entry.key))
                queue.clear()
                continue
            taken = 0  # the open numbers at the head, up to a complete one
            while queue and not queue[0].complete and taken < width:
                if expanded[i] >= max_expansions:
                    break
                rows.append((i, heapq.heappop(queue)))
                expanded[i] += 1
                taken += 1
        if not rows:
            break
        logprobs = expand([(i, entry.tokens) for i, entry in rows]).float().cpu()
        more = logprobs.masked_fill(~continues[: logprobs.shape[1]], -math.inf)
        go_on = torch.logsumexp(more, dim=-1).clamp(max=0.0)
        end = torch.log1p(-go_on.exp().clamp(max=1.0 - 1e-12))  # log P(no digit follows)
        for r, (i, entry) in enumerate(rows):
            fed[i] += len(entry.tokens)
            score, queue = -entry.key, queues[i]
            ended = _Entry(-(score + float(end[r])), next(pushed), entry.tokens, True)
            heapq.heappush(queue, ended)
            closes = len(entry.tokens) + 1 >= max_tokens  # cut: counts at its probability so far
            for token, step in _finite(more[r]):
                child = _Entry(-(score + step), next(pushed), (*entry.tokens, token), closes)
                heapq.heappush(queue, child)
    return [Search(found[i], expanded[i], fed[i], exact[i]) for i in range(len(queues))]


def _finite(row: torch.Tensor) -> list[tuple[int, float]]:
    """(token, log-probability) of the tokens that have a probability in `row`."""
    tokens = torch.isfinite(row).nonzero().flatten()
    return list(zip(tokens.tolist(), row[tokens].tolist(), strict=True))


def _candidate(vocab: NumberVocabulary, tokens: tuple[int, ...], logprob: float) -> Candidate:
    text = "".join(vocab.texts[t] for t in tokens)
    match = _LEADING_NUMBER.match(text)
    value = float(match.group(1).split(".")[0].replace(",", "")) if match else None
    return Candidate(tokens, text.strip(), value, logprob)


def candidate_weights(candidates: Sequence[Candidate]) -> list[float]:
    """Each candidate's probability renormalised over `candidates`."""
    if not candidates:
        return []
    logs = torch.tensor([c.logprob for c in candidates], dtype=torch.float64)
    return torch.softmax(logs, dim=0).tolist()


def weighted_price(
    prices: Sequence[float | None], weights: Sequence[float], ceiling: float | None = None
) -> float:
    """The probability-weighted mean of the candidate prices that are positive numbers.

    Weights are renormalised over those candidates; with none left the item fails. A candidate
    above `ceiling` counts at the ceiling: one unlikely "325,000" must not outweigh the rest.
    """
    kept = [
        (price if ceiling is None else min(price, ceiling), weight)
        for price, weight in zip(prices, weights, strict=True)
        if price is not None and price > 0 and weight > 0
    ]
    if not kept:
        raise PriceParseError(f"no candidate price among {list(prices)}")
    total = sum(weight for _, weight in kept)
    return sum(price * weight for price, weight in kept) / total


def describe(candidates: Sequence[Candidate], weights: Sequence[float]) -> str:
    """The candidates as a run keeps them: "149 p=0.620; 150 p=0.210; ..."."""
    return "; ".join(f"{c.text} p={w:.3f}" for c, w in zip(candidates, weights, strict=True))
