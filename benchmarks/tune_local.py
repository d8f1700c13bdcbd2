"""A real tuning run of a local pricer: chosen on validation, reported once on test.

Fits each configuration on course-items' train split minus a seeded 20% validation part, scores it
on that validation part, then refits the winner on the whole train split and prices the 500 test
items once. Prints the trials as a Markdown table and the winner's test figures.

    python benchmarks/tune_local.py [SPEC] [--out DIR]

SPEC is knn (default; grid: n_neighbors x power), tfidf-ridge (alpha) or bow-lr. Trials are kept
under --out (default: a temporary directory), so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from pricebench import load_dataset, tune

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "course-items.jsonl"
GRIDS = {
    "knn": {"n_neighbors": [3, 5, 10, 20, 40], "power": [0.0, 1.0, 2.0, 4.0]},
    "tfidf-ridge": {"alpha": [0.1, 0.3, 1.0, 3.0, 10.0]},
    "bow-lr": {"max_features": [250, 1000, 4000], "log_target": [False, True]},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec", nargs="?", default="knn", choices=sorted(GRIDS))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="pricebench-tune-"))
    data = load_dataset(DATA)
    began = time.perf_counter()
    result = tune(args.spec, data, grid=GRIDS[args.spec], validation_fraction=0.2, seed=42, out=out)
    seconds = time.perf_counter() - began
    print(f"{args.spec} on {DATA.name}: {len(result.trials)} trials, {seconds:.0f} s in all\n")
    print("| params | validation mean error | validation RMSLE | validation hits |")
    print("|---|---:|---:|---:|")
    for trial in sorted(result.trials, key=lambda t: t.mean_error or float("inf")):
        mark = " **(chosen)**" if result.best is not None and trial.id == result.best.id else ""
        if trial.mean_error is None:
            print(f"| `{json.dumps(trial.params)}` | {trial.status}: {trial.error} | | |")
            continue
        print(
            f"| `{json.dumps(trial.params)}`{mark} | ${trial.mean_error:,.2f} | "
            f"{trial.rmsle:.3f} | {trial.hit_rate:.1%} |"
        )
    if result.test is not None:
        s = result.test.scores
        print(
            f"\nwinner on test ({result.test.n_priced} items): mean error ${s.mean_error:,.2f} "
            f"[{s.mean_error_ci.low:,.2f}, {s.mean_error_ci.high:,.2f}], RMSLE {s.rmsle:.3f}, "
            f"hits {s.hit_rate:.1%}"
        )


if __name__ == "__main__":
    main()
