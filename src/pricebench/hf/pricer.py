"""`HFPricer`: prices items with a local causal language model, base or LoRA fine-tuned."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from pricebench._version import __version__
from pricebench.chat.parse import parse_price
from pricebench.chat.prompts import COURSE_PROMPT, PromptTemplate, load_prompt, prompt_fields
from pricebench.errors import PriceParseError, PricerError
from pricebench.hf.decoding import (
    MAX_EXPANSIONS,
    NumberVocabulary,
    candidate_weights,
    describe,
    top_prices,
    weighted_price,
)
from pricebench.hf.loading import (
    Quantization,
    adapter_base,
    load_model,
    load_tokenizer,
    resolve_device,
)
from pricebench.hf.text import prompt_text
from pricebench.items import Item
from pricebench.pricer import Estimate

METHODS = ("top-k", "greedy")
META_FILE = "pricebench-hf.json"
FORMAT = "pricebench-hf-pricer"


class HFPricer:
    """A local causal LM that reads the prompt and writes the price after the prefill.

    `model` is a Hugging Face model id or folder; `adapter` a LoRA adapter (id or folder) put on
    top of it. `method="top-k"` is the course's weighted estimate over the `top_k` likeliest
    whole prices, found exactly by a search that expands at most `max_expansions` numbers per
    item, `"greedy"` parses the most likely price text (`pricebench.hf.decoding` says why the
    first is usually better). Items are priced `batch_size` at a time, padded on the
    left. `device` is auto, cpu, cuda or mps; `quantization` 4bit or 8bit needs CUDA. The prompt
    must be the one the model was fine-tuned with; `chat` picks the tokenizer's chat template
    (None: whenever the tokenizer has one); `max_length` cuts item texts as training did.

    `max_price` is the ceiling of an estimate: a greedy price or a top-K candidate above it counts
    at it (the reply keeps what the model wrote). Left None, `fit(train)` sets it to the highest
    training price, as `pricebench run` does: a model that writes digits one by one can name any
    price, and one stray "325,000" would dominate a mean error. Unfitted and None: no ceiling.
    """

    def __init__(
        self,
        model: str,
        adapter: str | None = None,
        *,
        method: str = "top-k",
        top_k: int = 3,
        max_new_tokens: int = 8,
        max_expansions: int = MAX_EXPANSIONS,
        batch_size: int = 8,
        device: str = "auto",
        quantization: Quantization = None,
        prompt: PromptTemplate | dict[str, Any] | str = COURSE_PROMPT,
        chat: bool | None = None,
        max_length: int | None = None,
        max_price: float | None = None,
        name: str | None = None,
    ) -> None:
        if method not in METHODS:
            raise PricerError(f"method {method!r}: use one of {', '.join(METHODS)}")
        if min(top_k, max_new_tokens, max_expansions, batch_size) < 1:
            raise PricerError(
                "top_k, max_new_tokens, max_expansions and batch_size must be at least 1"
            )
        if max_price is not None and not (isinstance(max_price, (int, float)) and max_price > 0):
            raise PricerError(f"max_price must be a positive price, got {max_price!r}")
        self.model = model
        self.adapter = adapter
        self.method = method
        self.top_k = top_k
        self.max_new_tokens = max_new_tokens
        self.max_expansions = max_expansions
        self.batch_size = batch_size
        self.device = device
        self.quantization = quantization
        self.prompt = load_prompt(prompt)
        self.chat = chat
        self.max_length = max_length
        self.max_price = max_price
        self.name = name or f"hf:{model}" + (f"+{adapter}" if adapter else "")
        self._model: Any = None
        self._tokenizer: Any = None
        self._vocab: NumberVocabulary | None = None
        self.prompt_tokens_ = 0
        self.generated_tokens_ = 0
        self.seconds_ = 0.0

    @classmethod
    def from_model(
        cls, model: Any, tokenizer: Any, *, model_name: str, adapter: str | None = None, **params
    ) -> HFPricer:
        """A pricer on a model already in memory (what `LoRAFineTuned.fit` hands over)."""
        pricer = cls(model_name, adapter, **params)
        pricer._model = model.eval()
        pricer._tokenizer = tokenizer
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return pricer

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides: Any) -> HFPricer:
        """The pricer `save` wrote to `path` (base model id + adapter, or a whole model)."""
        meta = read_meta(path)
        params = {**meta["params"], **overrides}
        if meta["adapter"]:
            return cls(meta["base_model"], str(path), **params)
        return cls(str(path), **params)

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor's parameters as stored (`deep` is accepted for scikit-learn)."""
        return {
            "model": self.model,
            "adapter": self.adapter,
            "method": self.method,
            "top_k": self.top_k,
            "max_new_tokens": self.max_new_tokens,
            "max_expansions": self.max_expansions,
            "batch_size": self.batch_size,
            "device": self.device,
            "quantization": self.quantization,
            "prompt": prompt_fields(self.prompt),
            "chat": self.chat,
            "max_length": self.max_length,
            "max_price": self.max_price,
        }

    # --- the ceiling, learned from the training prices ----------------------------------------

    @property
    def learns(self) -> bool:
        """Only the ceiling is learned (the model is not trained): when `max_price` is not given."""
        return self.max_price is None

    def fit(self, train: Sequence[Item]) -> HFPricer:
        """Set the ceiling `max_price_`: `max_price`, else the highest training price."""
        if self.max_price is not None:
            self.max_price_: float | None = self.max_price
        elif train:
            self.max_price_ = max(item.price for item in train)
        else:
            raise PricerError(f"{self.name}: no training items to learn a max_price from")
        return self

    def __sklearn_clone__(self) -> HFPricer:
        """An unfitted copy (the ensemble's folds make several) on the model already loaded,
        if any: fitting learns only the ceiling, never the weights, so they can be shared."""
        params = {k: v for k, v in self.get_params().items() if k not in ("model", "adapter")}
        copy = HFPricer(self.model, self.adapter, name=self.name, **params)
        copy._model, copy._tokenizer, copy._vocab = self._model, self._tokenizer, self._vocab
        return copy

    @property
    def ceiling(self) -> float | None:
        """The highest estimate given: learned by `fit`, else `max_price` (None: no ceiling)."""
        return getattr(self, "max_price_", self.max_price)

    # --- pricing ------------------------------------------------------------------------------

    def predict(self, item: Item) -> float:
        return self.estimate(item).price

    def estimate(self, item: Item) -> Estimate:
        outcome = self.estimate_many([item])[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def predict_batch(self, items: Sequence[Item]) -> list[float]:
        """Prices in order, NaN for an item the model gave no price for: one bad reply fails
        only its item, as in `estimate_many`, which says why (the Tester records it so)."""
        return [
            math.nan if isinstance(outcome, BaseException) else outcome.price
            for outcome in self.estimate_many(items)
        ]

    @property
    def bulk_size(self) -> int:
        """Items the Tester hands over at a time (`batch_size`): each call's records are written
        when it returns, so a stopped run loses at most one batch."""
        return self.batch_size

    def estimate_many(self, items: Sequence[Item]) -> list[Estimate | PriceParseError]:
        """Each item's `Estimate`, or the error that failed it, `batch_size` items at a time."""
        self._load()
        outcomes: list[Estimate | PriceParseError] = []
        for start in range(0, len(items), self.batch_size):
            outcomes.extend(self._batch(items[start : start + self.batch_size]))
        return outcomes

    @property
    def tokens_per_second(self) -> float:
        """Prompt and generated tokens processed per second of pricing so far."""
        total = self.prompt_tokens_ + self.generated_tokens_
        return total / self.seconds_ if self.seconds_ > 0 else 0.0

    def _batch(self, items: Sequence[Item]) -> list[Estimate | PriceParseError]:
        tokenizer = self._tokenizer
        texts = [
            prompt_text(item, self.prompt, tokenizer, self.chat, self.max_length) for item in items
        ]
        encoded = tokenizer(texts, return_tensors="pt", padding=True).to(self._model.device)
        prompt_tokens = encoded["attention_mask"].sum(dim=1).tolist()
        began = time.perf_counter()
        with torch.inference_mode():
            if self.method == "greedy":
                generated = self._generate(encoded["input_ids"], encoded["attention_mask"])
                texts, counts = self._decode(generated)
                outcomes = [self._greedy(text) for text in texts]
            else:
                texts, counts, outcomes = self._top_k(encoded)
        self.seconds_ += time.perf_counter() - began
        self.prompt_tokens_ += sum(prompt_tokens)
        self.generated_tokens_ += sum(counts)
        per_item = len(counts) // len(items)
        results: list[Estimate | PriceParseError] = []
        for n, outcome in enumerate(outcomes):
            if isinstance(outcome, PriceParseError):
                results.append(outcome)
                continue
            price, reply = outcome
            output_tokens = sum(counts[n * per_item : (n + 1) * per_item])
            results.append(Estimate(price, reply, prompt_tokens[n], output_tokens))
        return results

    def _greedy(self, text: str) -> tuple[float, str] | PriceParseError:
        try:
            price = parse_price(text)
        except PriceParseError as error:
            return error
        return (price if self.ceiling is None else min(price, self.ceiling)), text

    def _top_k(self, encoded: Any) -> tuple[list[str], list[int], list[Any]]:
        """The top-K estimate on whole prices (`pricebench.hf.decoding.top_prices`)."""
        from transformers import DynamicCache

        ids, mask = encoded["input_ids"], encoded["attention_mask"]
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        output = self._model(
            input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True
        )
        prompts = [(layer.keys, layer.values) for layer in output.cache.layers]
        first = torch.log_softmax(output.logits[:, -1, :].float(), dim=-1)
        following = positions[:, -1] + 1

        def expand(rows: Sequence[tuple[int, tuple[int, ...]]]) -> torch.Tensor:
            # Each row reads its prompt's cached keys and values, then its number's tokens,
            # padded on the right: a causal model's logits at a real token ignore the padding.
            which = torch.tensor([i for i, _ in rows], device=ids.device)
            longest = max(len(tokens) for _, tokens in rows)
            padded = [[*tokens, *[tokens[-1]] * (longest - len(tokens))] for _, tokens in rows]
            cache = DynamicCache(
                [(k.index_select(0, which), v.index_select(0, which)) for k, v in prompts],
                config=self._model.config,
            )
            read = torch.cat(
                [mask.index_select(0, which), mask.new_ones((len(rows), longest))], dim=1
            )
            steps = torch.arange(longest, device=ids.device)
            out = self._model(
                input_ids=torch.tensor(padded, device=ids.device),
                attention_mask=read,
                position_ids=following.index_select(0, which)[:, None] + steps,
                cache=cache,
                use_cache=True,
            )
            last = torch.tensor([len(tokens) - 1 for _, tokens in rows], device=ids.device)
            logits = out.logits[torch.arange(len(rows), device=ids.device), last]
            return torch.log_softmax(logits.float(), dim=-1)

        searches = top_prices(
            first, expand, self._numbers(), self.top_k, self.max_new_tokens, self.max_expansions
        )
        texts: list[str] = []
        outcomes: list[tuple[float, str] | PriceParseError] = []
        for search in searches:
            weights = candidate_weights(search.candidates)
            reply = describe(search.candidates, weights)
            if not search.exact:
                reply += f" (search stopped at {search.expanded} expansions)"
            texts.append(reply)
            try:
                values = [c.value for c in search.candidates]
                outcomes.append((weighted_price(values, weights, self.ceiling), reply))
            except PriceParseError as error:
                outcomes.append(PriceParseError(str(error), reply))
        return texts, [search.tokens for search in searches], outcomes

    def _generate(self, ids: torch.Tensor, mask: torch.Tensor, new: int | None = None) -> Any:
        output = self._model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=new or self.max_new_tokens,
            do_sample=False,
            pad_token_id=self._tokenizer.pad_token_id,
        )
        return output[:, ids.shape[1] :]

    def _decode(self, generated: torch.Tensor) -> tuple[list[str], list[int]]:
        """Each row's text up to its end-of-sequence token, and how many tokens that took."""
        eos = self._tokenizer.eos_token_id
        texts, counts = [], []
        for row in generated.tolist():
            if eos in row:
                row = row[: row.index(eos) + 1]
            texts.append(self._tokenizer.decode(row, skip_special_tokens=True))
            counts.append(len(row))
        return texts, counts

    def _numbers(self) -> NumberVocabulary:
        if self._vocab is None:
            self._vocab = NumberVocabulary.from_tokenizer(self._tokenizer)
        return self._vocab

    # --- loading and saving -------------------------------------------------------------------

    def prepare(self) -> None:
        """Load the model and tokenizer now (the Tester calls it before a run writes anything):
        a model that cannot load is one `PricerError`, not a failure for every item."""
        self._load()

    def _load(self) -> None:
        if self._model is not None:
            return
        device = resolve_device(self.device)
        for given in (self.model, self.adapter):
            if given and _looks_local(given) and not Path(given).expanduser().exists():
                raise PricerError(f"{self.name}: {given}: no such model file or directory")
        folder = Path(self.model).expanduser()
        if folder.is_dir() and not (folder / "config.json").is_file():
            raise PricerError(
                f"{self.name}: {self.model} holds no config.json: not a model folder (one saved "
                "with save_pretrained, or a hub id, or a .gguf file)"
            )
        source = self.adapter if self.adapter and _has_tokenizer(self.adapter) else self.model
        try:
            tokenizer = load_tokenizer(source)
            model = load_model(
                self.model, self.adapter, device=device, quantization=self.quantization
            )
        except Exception as error:  # a broken file fails in many ways inside transformers
            kind = "" if isinstance(error, PricerError) else f"{type(error).__name__}: "
            reason = " ".join(f"{kind}{error}".split())  # one line, as the CLI prints errors
            reason = reason if len(reason) <= 400 else reason[:397] + "..."
            raise PricerError(f"{self.name}: {reason}") from None
        self._tokenizer, self._model = tokenizer, model

    def save(self, path: str | Path) -> Path:
        """Write the adapter (or, with none, the whole model), the tokenizer and the settings."""
        self._load()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self._model.save_pretrained(str(path))
        self._tokenizer.save_pretrained(str(path))
        params = self.get_params()
        for key in ("model", "adapter", "device"):  # quantization stays: load it as it was
            params.pop(key)
        params["max_price"] = self.ceiling  # a fitted ceiling is part of the saved pricer
        meta = {
            "format": FORMAT,
            "pricebench_version": __version__,
            "base_model": self.model,
            "adapter": self.adapter is not None,
            "params": params,
        }
        (path / META_FILE).write_text(json.dumps(meta, indent=2))
        return path

    def __repr__(self) -> str:
        return f"HFPricer({self.name!r}, method={self.method!r})"


def hf_pricer(spec: str = "", **options: Any) -> HFPricer:
    """The pricer for `hf:SPEC`: a model id or folder, `BASE+ADAPTER`, a saved `HFPricer` or a
    LoRA adapter folder (its base model is read from its adapter config)."""
    if not spec:
        raise PricerError("hf: needs a model, e.g. hf:meta-llama/Llama-3.2-1B or hf:BASE+ADAPTER")
    if "+" in spec:  # the adapter's saved settings (prompt, max_length...) unless overridden
        base, _, adapter = spec.partition("+")
        saved = read_meta(adapter)["params"] if (Path(adapter) / META_FILE).is_file() else {}
        return HFPricer(base, adapter, **{**saved, **options})
    if (Path(spec) / META_FILE).is_file():
        return HFPricer.from_pretrained(spec, **options)
    listed_base = adapter_base(spec)
    if listed_base is not None:
        return HFPricer(listed_base, spec, **options)
    return HFPricer(spec, **options)


def _looks_local(model: str) -> bool:
    """Whether `model` is written as a path (a hub id is `org/name`, never `./x` or `/x`)."""
    return model.startswith(("/", "./", "../", "~", ".\\")) or model.lower().endswith(".gguf")


def _has_tokenizer(folder: str | None) -> bool:
    return folder is not None and (Path(folder) / "tokenizer_config.json").is_file()


def read_meta(path: str | Path) -> dict[str, Any]:
    """The settings `HFPricer.save` wrote in folder `path`."""
    meta_path = Path(path) / META_FILE
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise PricerError(f"{meta_path}: not a saved HFPricer ({error})") from None
    if meta.get("format") != FORMAT:
        raise PricerError(f"{meta_path}: format {meta.get('format')!r}, not {FORMAT!r}")
    return meta
