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
digits). A small beam search finds the K likeliest whole prices: it starts from the K likeliest
tokens that begin a number, and at each step extends each open number by its likeliest digit
tokens and closes it with its end probability, keeping K open numbers; a number that can no
longer beat the K-th best closed one is dropped, so the search stops as soon as the answer is
settled. The estimate is the mean of the K best closed prices weighted by their probabilities,
renormalised over them. When every price is one token and the model ends the number after it
(Llama 3 under $1,000), the K prices and their weights are exactly the course's; when digits
come one by one (SmolLM2, Qwen, Gemma, Mistral), "149" is weighed as P(1) P(4|1) P(9|14)
P(end|149), never by its first digit alone. Cost: one forward pass over the prompt, then at most
`max_tokens - 1` steps of K single tokens per item with the key-value cache. The estimate is in
whole dollars, as the course's was (cents written after the number are not read).

A digit-by-digit vocabulary lets a candidate be any size, where Llama 3's single tokens stop at
999: on SmolLM2 one "325,000" with a weight of 0.28 made a $379.95 item a $90,352 guess. So a
pricer may set a ceiling (`HFPricer` learns it from the training prices), and a candidate above
it counts at the ceiling. Below the ceiling nothing changes, so the course's estimate is kept
whenever its candidates are prices the training data holds.
"""

from __future__ import annotations

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
    """One whole price the beam found: its tokens, text, value and log-probability."""

    tokens: tuple[int, ...]
    text: str
    value: float | None
    logprob: float


# step(tokens, parents) -> log-probabilities of the next token, one row per beam: `tokens[i]` is
# appended to the beam that was row `parents[i]` of the previous step (of the prompt's first
# step: item `parents[i] // k`).
Step = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def price_beams(
    first: torch.Tensor, step: Step, vocab: NumberVocabulary, k: int, max_tokens: int = 8
) -> tuple[list[list[Candidate]], list[int]]:
    """The `k` likeliest whole prices of each item, best first, from log-probabilities `first`,
    and how many tokens each item's beams read (its generated tokens).

    `first` ([items, vocabulary]) is the next-token distribution after each prompt; `step`
    extends beams by one token (see `Step`). Rows of the beams are item-major: row `i * k + j`
    is beam j of item i, and `step` is always called with `len(first) * k` rows (dead beams
    carry token 0 and are ignored).
    """
    items, width = first.shape
    starts = vocab.starts[:width].to(first.device)
    continues = vocab.continues[:width].to(first.device)
    if not bool(starts.any()):
        raise PriceParseError("no token of the vocabulary begins a number")
    done: list[list[Candidate]] = [[] for _ in range(items)]
    fed = [0] * items
    firsts = first.float().masked_fill(~starts, -math.inf)
    top = min(k, int(starts.sum()))
    scores, tokens = firsts.topk(top, dim=-1)
    beams: list[list[tuple[tuple[int, ...], float] | None]] = [[] for _ in range(items)]
    for i in range(items):
        for score, token in zip(scores[i].tolist(), tokens[i].tolist(), strict=True):
            if score == -math.inf:
                beams[i].append(None)
            elif not bool(continues[token]):  # "5." ends the number inside the token
                done[i].append(_candidate(vocab, (token,), score))
                beams[i].append(None)
            else:
                beams[i].append(((token,), score))
        beams[i] += [None] * (k - len(beams[i]))
    parents = torch.arange(items * k, device=first.device) // k  # first step: rows are items
    for _ in range(max_tokens - 1):
        if all(beam is None for row in beams for beam in row):
            break
        last = [beam[0][-1] if beam else 0 for row in beams for beam in row]
        logprobs = step(torch.tensor(last, device=first.device), parents).float()
        more = logprobs.masked_fill(~continues, -math.inf)
        go_on = torch.logsumexp(more, dim=-1).clamp(max=0.0)
        end = torch.log1p(-go_on.exp().clamp(max=1.0 - 1e-12))  # log P(no digit follows)
        new_parents, new_beams = [], []
        for i in range(items):
            row = [(i * k + j, beam) for j, beam in enumerate(beams[i]) if beam is not None]
            fed[i] += len(row)
            for r, (ids, score) in row:
                done[i].append(_candidate(vocab, ids, score + float(end[r])))
            bar = _kth(done[i], k)  # prices can only get less likely as digits are added
            options: list[tuple[float, int, int]] = []
            for r, (_, score) in row:
                best, following = (more[r] + score).topk(min(k, width))
                options += [
                    (s, r, t)
                    for s, t in zip(best.tolist(), following.tolist(), strict=True)
                    if s > bar and s != -math.inf
                ]
            options.sort(reverse=True)
            kept: list[tuple[tuple[int, ...], float] | None] = []
            for s, r, t in options[:k]:
                ids, _ = beams[i][r - i * k]  # type: ignore[misc]
                kept.append(((*ids, t), s))
                new_parents.append(r)
            new_parents += [i * k] * (k - len(kept))
            new_beams.append(kept + [None] * (k - len(kept)))
        beams = new_beams
        parents = torch.tensor(new_parents, device=first.device)
    for i in range(items):  # numbers still open after max_tokens: their probability so far
        done[i] += [_candidate(vocab, ids, score) for ids, score in filter(None, beams[i])]
    return [sorted(found, key=lambda c: -c.logprob)[:k] for found in done], fed


def _kth(found: list[Candidate], k: int) -> float:
    if len(found) < k:
        return -math.inf
    return sorted((c.logprob for c in found), reverse=True)[k - 1]


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
