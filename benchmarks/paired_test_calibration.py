"""How often the paired tests of `pricebench.compare` say "different", on constructed errors.

    python benchmarks/paired_test_calibration.py [--seeds 1000] [--n 200]

Two pricers' absolute errors on the same items: a shared item difficulty (log-normal, so a few
items are far harder, as with real prices) times each pricer's own noise; pricer B errs `effect`
times more than A on average. With effect 1.0 the rejection rate is the test's false-positive rate
and should be near alpha = 0.05; above 1.0 it is the test's power. Prints one line per effect.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pricebench.compare import paired_test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--n", type=int, default=200, help="items per data set")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    print(f"n = {args.n} items, {args.seeds} data sets per row, alpha = 0.05")
    print("effect  bootstrap  sign test  Wilcoxon  (rejection rates)   seconds")
    for effect in (1.0, 1.05, 1.1, 1.2, 1.35):
        began = time.perf_counter()
        rejected = np.zeros(3)
        for seed in range(args.seeds):
            rng = np.random.default_rng(10_000 + seed)
            difficulty = rng.lognormal(3.5, 1.0, args.n)
            a = difficulty * rng.lognormal(0.0, 0.5, args.n)
            b = effect * difficulty * rng.lognormal(0.0, 0.5, args.n)
            c = paired_test(a, b, resamples=args.resamples, seed=seed)
            rejected += [c.p_value < 0.05, c.sign_p_value < 0.05, c.wilcoxon_p_value < 0.05]
        rates = rejected / args.seeds
        seconds = time.perf_counter() - began
        print(
            f"{effect:6.2f}  {rates[0]:9.1%}  {rates[1]:9.1%}  {rates[2]:8.1%}"
            f"                     {seconds:7.1f}"
        )


if __name__ == "__main__":
    main()
