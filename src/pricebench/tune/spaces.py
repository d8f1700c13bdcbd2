"""Search spaces: every combination of listed values (scikit-learn's `ParameterGrid`), and seeded
random draws (`ParameterSampler`) from lists and `Uniform` ranges.

scikit-learn is imported when a space is expanded, not with the package: it takes a second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pricebench.errors import PricebenchError


@dataclass(frozen=True)
class Uniform:
    """A parameter drawn uniformly in [low, high] by random search (log scale with `log`)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def rvs(self, random_state: Any = None) -> float | int:
        """One draw, as a scipy distribution gives it (what `ParameterSampler` asks of a range)."""
        from scipy.stats import loguniform, uniform

        if self.log:
            distribution = loguniform(self.low, self.high)
        else:
            distribution = uniform(self.low, self.high - self.low)
        value = float(distribution.rvs(random_state=random_state))
        return round(value) if self.integer else value


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the listed values (parameters varied in name order)."""
    from sklearn.model_selection import ParameterGrid

    with _bad_space():
        combinations = list(ParameterGrid(dict(space)))
    return [_in_order(params, space) for params in combinations]


def sample(
    space: Mapping[str, Sequence[Any] | Uniform], n: int, seed: int = 42
) -> list[dict[str, Any]]:
    """`n` seeded random draws: a choice from each list, a value from each `Uniform`.

    A space of lists only is drawn without replacement, so it gives at most every combination.
    """
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    with _bad_space():
        if not any(isinstance(values, Uniform) for values in space.values()):
            n = min(n, len(ParameterGrid(dict(space))))
        draws = list(ParameterSampler(dict(space), n, random_state=seed))
    return [_in_order(params, space) for params in draws]


def configurations(
    grid_space: Mapping[str, Sequence[Any]] | None,
    space: Mapping[str, Sequence[Any] | Uniform] | None,
    n_random: int,
    seed: int,
) -> list[dict[str, Any]]:
    """The grid's combinations, then `n_random` draws from `space`, each configuration once."""
    configs = grid(grid_space) if grid_space else []
    if n_random:
        if not space:
            raise PricebenchError("tune: n_random needs a space to draw from")
        configs += sample(space, n_random, seed)
    unique: dict[str, dict[str, Any]] = {}
    for params in configs:
        unique.setdefault(trial_id(params), params)
    return list(unique.values())


def trial_id(params: Mapping[str, Any]) -> str:
    """A configuration's stable id: the same parameters give the same id in any order."""
    text = json.dumps(params, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _in_order(params: Mapping[str, Any], space: Mapping[str, Any]) -> dict[str, Any]:
    # scikit-learn sorts the names; the trial keeps them in the order the caller gave.
    return {name: params[name] for name in space}


@contextmanager
def _bad_space() -> Iterator[None]:
    # scikit-learn's complaint about a space (a lone value, an empty list) is bad input.
    try:
        yield
    except (TypeError, ValueError) as error:
        raise PricebenchError(f"tune: {error}") from None
