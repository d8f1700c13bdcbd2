"""Scoring guesses: absolute error, squared log error, hits and colour bands, and their CIs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """A guess is a hit (green) when its error is under `absolute` or under `relative` × truth.

    The course's bands: green within the tolerance, orange within twice it, red beyond.
    """

    absolute: float = 40.0
    relative: float = 0.2

    def __post_init__(self) -> None:
        # NaN compares false with everything: it would make every guess a miss without a word.
        for name in ("absolute", "relative"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"tolerance {name} must be a finite number >= 0, got {value!r}")

    def band(self, truth: float, guess: float) -> str:
        error = abs(guess - truth)
        if error < self.absolute or error < self.relative * truth:
            return "green"
        if error < 2 * self.absolute or error < 2 * self.relative * truth:
            return "orange"
        return "red"


def squared_log_error(truth: float, guess: float) -> float:
    """(log(1 + max(guess, 0)) - log(1 + truth))², the term RMSLE averages."""
    return (math.log1p(max(guess, 0.0)) - math.log1p(truth)) ** 2


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Scores:
    """Headline metrics over the priced items, with bootstrap 95% intervals."""

    n: int
    mean_error: float
    median_error: float
    rmsle: float
    hit_rate: float
    mean_error_ci: Interval
    rmsle_ci: Interval
    hit_rate_ci: Interval


def score(
    errors: Sequence[float],
    squared_log_errors: Sequence[float],
    hits: Sequence[bool],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> Scores:
    """Metrics of one run's priced items. Bootstrap intervals resample items with a fixed seed."""
    abs_err = np.asarray(errors, dtype=float)
    sle = np.asarray(squared_log_errors, dtype=float)
    hit = np.asarray(hits, dtype=float)
    n = len(abs_err)
    if n == 0:
        nan = Interval(math.nan, math.nan)
        return Scores(0, math.nan, math.nan, math.nan, math.nan, nan, nan, nan)
    means = _bootstrap_means(np.stack([abs_err, sle, hit]), resamples, seed)
    return Scores(
        n=n,
        mean_error=float(abs_err.mean()),
        median_error=float(np.median(abs_err)),
        rmsle=float(math.sqrt(sle.mean())),
        hit_rate=float(hit.mean()),
        mean_error_ci=_interval(means[0]),
        rmsle_ci=_interval(np.sqrt(means[1])),
        hit_rate_ci=_interval(means[2]),
    )


def _bootstrap_means(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Means of each row of `values` over `resamples` bootstrap resamples of its columns.

    Resamples are drawn in chunks so that memory stays small for runs of many items.
    """
    rng = np.random.default_rng(seed)
    n = values.shape[1]
    chunk = max(1, min(resamples, 2_000_000 // n))
    out = []
    for start in range(0, resamples, chunk):
        rows = rng.integers(0, n, size=(min(chunk, resamples - start), n))
        out.append(values[:, rows].mean(axis=2))
    return np.concatenate(out, axis=1)


def _interval(samples: np.ndarray) -> Interval:
    low, high = np.percentile(samples, [2.5, 97.5])
    return Interval(float(low), float(high))
