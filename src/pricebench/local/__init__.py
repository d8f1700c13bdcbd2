"""Trainable local pricers: the course's baselines and `local-best`, all CPU-only.

Each is a scikit-learn-style estimator over items with a spec name (`make_pricer("bow-lr")`),
`fit`, `predict`, `predict_batch`, and `save` / `load` (see `persistence.py`).
"""

from pricebench.local.base import LocalPricer
from pricebench.local.course import (
    BowLR,
    FeatureLR,
    GBMPricer,
    NNPricer,
    RandomForestPricer,
    VectorLR,
    VectorSVR,
)
from pricebench.local.persistence import load_pricer, save_pricer
from pricebench.local.strong import LocalBest, NeighbourPrices, TfidfRidge, TfidfSVR

__all__ = [
    "LocalPricer",
    "FeatureLR",
    "BowLR",
    "VectorLR",
    "VectorSVR",
    "RandomForestPricer",
    "GBMPricer",
    "NNPricer",
    "TfidfRidge",
    "TfidfSVR",
    "NeighbourPrices",
    "LocalBest",
    "save_pricer",
    "load_pricer",
]
