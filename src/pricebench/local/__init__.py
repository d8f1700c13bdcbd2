"""Pricers that run on this machine: the course's baselines, the human player, the trained
models up to `local-best`, and ensembles of any pricers. All CPU-only.

- `baselines`: `ConstantPricer`, `RandomPricer`; `human`: `HumanPricer` and the guess sheets.
- `base` (`LocalPricer`), `features`, `vectors`, `course` (the course's models), `strong`
  (`local-best` and its parts), `stacking` (the out-of-fold stacker), `persistence` (save / load).
- `ensemble`: `Ensemble`, which combines any pricers or their saved runs.

Each trained model is a scikit-learn-style estimator over items with a spec name
(`make_pricer("bow-lr")`), `fit`, `predict`, `predict_batch`, and `save` / `load`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pricebench.local.base import LocalPricer as LocalPricer
    from pricebench.local.course import BowLR as BowLR
    from pricebench.local.course import FeatureLR as FeatureLR
    from pricebench.local.course import GBMPricer as GBMPricer
    from pricebench.local.course import NNPricer as NNPricer
    from pricebench.local.course import RandomForestPricer as RandomForestPricer
    from pricebench.local.course import VectorLR as VectorLR
    from pricebench.local.course import VectorSVR as VectorSVR
    from pricebench.local.persistence import load_pricer as load_pricer
    from pricebench.local.persistence import save_pricer as save_pricer
    from pricebench.local.strong import LocalBest as LocalBest
    from pricebench.local.strong import NeighbourPrices as NeighbourPrices
    from pricebench.local.strong import TfidfRidge as TfidfRidge
    from pricebench.local.strong import TfidfSVR as TfidfSVR

# Imported on first use, so that `pricebench.local.baselines` (imported by `pricebench` itself)
# does not pull in every model's libraries.
_LAZY: dict[str, str] = {
    "LocalPricer": "base",
    "FeatureLR": "course",
    "BowLR": "course",
    "VectorLR": "course",
    "VectorSVR": "course",
    "RandomForestPricer": "course",
    "GBMPricer": "course",
    "NNPricer": "course",
    "TfidfRidge": "strong",
    "TfidfSVR": "strong",
    "NeighbourPrices": "strong",
    "LocalBest": "strong",
    "save_pricer": "persistence",
    "load_pricer": "persistence",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pricebench.local' has no attribute {name!r}")
    return getattr(importlib.import_module(f"pricebench.local.{module}"), name)
