"""pricebench: build, test and compare pricers, programs that estimate a price from text.

from pricebench import Tester, load_dataset, make_pricer

data = load_dataset("course-items.jsonl")
pricer = make_pricer("constant").fit(data.train)
results = Tester(pricer, data.test).run()
"""

from typing import TYPE_CHECKING

from pricebench._version import __version__
from pricebench.chat.parse import parse_price
from pricebench.data import Dataset, load_dataset, load_items
from pricebench.errors import (
    DataError,
    PricebenchError,
    PriceParseError,
    PricerError,
    ResultsError,
    SpecError,
    StopRun,
)
from pricebench.items import Item, fingerprint
from pricebench.local.baselines import ConstantPricer, RandomPricer
from pricebench.metrics import Tolerance
from pricebench.pricer import Estimate, FunctionPricer, Pricer, TrainablePricer, as_pricer
from pricebench.registry import make_pricer, register
from pricebench.results import ItemResult, Results, RunHeader, find_runs
from pricebench.tester import Tester

# Imported eagerly: a lazy `tune` would be shadowed by the submodule of the same name.
from pricebench.tune import tune  # noqa: E402

__all__ = [
    "__version__",
    # items and data
    "Item",
    "Dataset",
    "load_items",
    "load_dataset",
    "fingerprint",
    # pricers
    "Pricer",
    "TrainablePricer",
    "Estimate",
    "FunctionPricer",
    "as_pricer",
    "make_pricer",
    "register",
    "parse_price",
    "ConstantPricer",
    "RandomPricer",
    # testing and results
    "Tester",
    "Tolerance",
    "Results",
    "ItemResult",
    "RunHeader",
    "find_runs",
    "tune",
    # errors
    "PricebenchError",
    "DataError",
    "SpecError",
    "PricerError",
    "ResultsError",
    "PriceParseError",
    "StopRun",
]

# Imported on first use: these pull in an SDK (openai, anthropic) or heavier libraries (scipy).
# `compare` and `leaderboard` live in `pricebench.compare`, whose name they would clash with here.
# Type checkers read the same names from the imports below (keep the two lists alike).
if TYPE_CHECKING:
    from pricebench.chat.anthropic import AnthropicPricer as AnthropicPricer
    from pricebench.chat.base import ChatPricer as ChatPricer
    from pricebench.chat.cache import ResponseCache as ResponseCache
    from pricebench.chat.context import EmbeddingIndex as EmbeddingIndex
    from pricebench.chat.context import SimilarItems as SimilarItems
    from pricebench.chat.context import TfidfIndex as TfidfIndex
    from pricebench.chat.openai import OpenAIPricer as OpenAIPricer
    from pricebench.chat.prompts import COURSE_PROMPT as COURSE_PROMPT
    from pricebench.chat.prompts import PromptTemplate as PromptTemplate
    from pricebench.finetune import OpenAIFineTuned as OpenAIFineTuned
    from pricebench.hf import HFPricer as HFPricer
    from pricebench.hf import LoRAFineTuned as LoRAFineTuned
    from pricebench.local import LocalBest as LocalBest
    from pricebench.local import LocalPricer as LocalPricer
    from pricebench.local.ensemble import Ensemble as Ensemble

_LAZY: dict[str, str] = {
    "LocalPricer": "pricebench.local",
    "LocalBest": "pricebench.local",
    "Ensemble": "pricebench.local.ensemble",
    "OpenAIPricer": "pricebench.chat.openai",
    "AnthropicPricer": "pricebench.chat.anthropic",
    "ChatPricer": "pricebench.chat.base",
    "PromptTemplate": "pricebench.chat.prompts",
    "COURSE_PROMPT": "pricebench.chat.prompts",
    "ResponseCache": "pricebench.chat.cache",
    "SimilarItems": "pricebench.chat.context",
    "TfidfIndex": "pricebench.chat.context",
    "EmbeddingIndex": "pricebench.chat.context",
    "OpenAIFineTuned": "pricebench.finetune",
    "HFPricer": "pricebench.hf",
    "LoRAFineTuned": "pricebench.hf",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pricebench' has no attribute {name!r}")
    import importlib

    from pricebench.errors import missing_extra

    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as error:  # an optional SDK: say which extra installs it
        raise missing_extra(error, f"pricebench.{name}") from None
