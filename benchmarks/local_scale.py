"""How `local-best` scales: fit time and peak memory on the UK toys and on a large synthetic corpus.

    python benchmarks/local_scale.py                      # UK toys (8,559) and 400,000 synthetic
    python benchmarks/local_scale.py --synthetic 50000    # a quicker look

The synthetic corpus resamples the course items' train split with replacement (new ids), so
it has real text lengths and vocabulary; it is for timing only (its prices repeat). Each fit runs
in a fresh process, whose peak resident memory (ru_maxrss) is reported, import overhead included.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def uk_toys() -> list:
    from pricebench import load_dataset

    data = load_dataset(
        DATA / "uk-toys-gbp.csv",
        text_columns=["product_name"],
        price_column="price_gbp",
        id_column="uniq_id",
        drop_unpriced=True,
        price_range=(0.5, 999.49),
    )
    return data.train + data.validation + data.test


def synthetic(n: int, seed: int = 0) -> list:
    from pricebench import load_dataset

    train = load_dataset(DATA / "course-items.jsonl").train
    rng = random.Random(seed)
    return [
        item.model_copy(update={"id": f"syn{i}"}) for i, item in enumerate(rng.choices(train, k=n))
    ]


def measure(corpus: str, n: int, queue: multiprocessing.Queue) -> None:
    from pricebench import make_pricer

    began = time.perf_counter()
    items = uk_toys() if corpus == "uk-toys" else synthetic(n)
    loaded = time.perf_counter() - began
    pricer = make_pricer("local-best")
    began = time.perf_counter()
    pricer.fit(items)
    fit = time.perf_counter() - began
    sample = items[:1000]
    began = time.perf_counter()
    pricer.predict_batch(sample)
    predict = (time.perf_counter() - began) / len(sample)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    components = ", ".join(f"{k} {v:.2f}" for k, v in pricer.blend().items())
    queue.put((corpus, len(items), loaded, fit, predict, peak_mb, components))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, nargs="*", default=[400_000])
    parser.add_argument("--no-uk-toys", action="store_true")
    args = parser.parse_args()
    runs = [] if args.no_uk_toys else [("uk-toys", 0)]
    runs += [("synthetic", n) for n in args.synthetic]
    print("| corpus | items | fit (s) | predict (ms / item) | peak memory (MB) | blend |")
    print("|---|---:|---:|---:|---:|---|")
    context = multiprocessing.get_context("spawn")
    for corpus, n in runs:
        queue = context.Queue()
        process = context.Process(target=measure, args=(corpus, n, queue))
        process.start()
        process.join()
        if process.exitcode != 0:
            print(f"| {corpus} | {n} | failed (exit {process.exitcode}) | | | |")
            continue
        name, size, _, fit, predict, peak, components = queue.get()
        figures = f"{fit:,.1f} | {predict * 1000:.2f} | {peak:,.0f}"
        print(f"| {name} | {size:,} | {figures} | {components} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
