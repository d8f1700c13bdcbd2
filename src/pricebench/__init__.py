"""pricebench: build, test and compare pricers, programs that estimate a price from text.

from pricebench import Tester, load_dataset, make_pricer

data = load_dataset("course-items.jsonl")
pricer = make_pricer("constant").fit(data.train)
results = Tester(pricer, data.test).run()
"""

from typing import TYPE_CHECKING

from pricebench._version import __version__
from pricebench.baselines import ConstantPricer, RandomPricer
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
from pricebench.metrics import Tolerance
from pricebench.parse import parse_price
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
    from pricebench.cache import ResponseCache as ResponseCache
    from pricebench.context import EmbeddingIndex as EmbeddingIndex
    from pricebench.context import SimilarItems as SimilarItems
    from pricebench.context import TfidfIndex as TfidfIndex
    from pricebench.ensemble import Ensemble as Ensemble
    from pricebench.finetune import OpenAIFineTuned as OpenAIFineTuned
    from pricebench.hf import HFPricer as HFPricer
    from pricebench.hf import LoRAFineTuned as LoRAFineTuned
    from pricebench.local import LocalBest as LocalBest
    from pricebench.local import LocalPricer as LocalPricer
    from pricebench.prompts import COURSE_PROMPT as COURSE_PROMPT
    from pricebench.prompts import PromptTemplate as PromptTemplate
    from pricebench.providers.anthropic import AnthropicPricer as AnthropicPricer
    from pricebench.providers.base import ChatPricer as ChatPricer
    from pricebench.providers.openai import OpenAIPricer as OpenAIPricer

_LAZY: dict[str, str] = {
    "LocalPricer": "pricebench.local",
    "LocalBest": "pricebench.local",
    "Ensemble": "pricebench.ensemble",
    "OpenAIPricer": "pricebench.providers.openai",
    "AnthropicPricer": "pricebench.providers.anthropic",
    "ChatPricer": "pricebench.providers.base",
    "PromptTemplate": "pricebench.prompts",
    "COURSE_PROMPT": "pricebench.prompts",
    "ResponseCache": "pricebench.cache",
    "SimilarItems": "pricebench.context",
    "TfidfIndex": "pricebench.context",
    "EmbeddingIndex": "pricebench.context",
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
