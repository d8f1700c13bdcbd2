"""The local pricers' leaderboard: every pricer fitted on train, scored on test, with 95% CIs.

    python benchmarks/local_leaderboard.py                    # course items and UK toys
    python benchmarks/local_leaderboard.py --data course      # one dataset
    python benchmarks/local_leaderboard.py --specs constant local-best

Prints, per dataset, a Markdown table (MAE, RMSLE and hit rate with bootstrap 95% intervals, fit
and predict time, peak memory) and paired bootstrap tests of `local-best` against every other
pricer (`pricebench.compare`). Each pricer runs in a fresh process so that its peak resident
memory (ru_maxrss, imports included) is its own. Per-item results are kept under --out.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
from pathlib import Path

from pricebench.cli.benchmark import DEFAULT_SPECS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
# The README's main job's pricers, plus the parts of local-best on their own.
SPECS = [*DEFAULT_SPECS, "tfidf-svr", "tfidf-ridge"]
DATASETS = {
    "course": ("course-items.jsonl", {}, "USD"),
    "uk-toys": (
        "uk-toys-gbp.csv",
        {
            "text_columns": ["product_name"],
            "price_column": "price_gbp",
            "id_column": "uniq_id",
            "drop_unpriced": True,
            "price_range": (0.5, 999.49),
        },
        "GBP",
    ),
}


def run_one(dataset: str, spec: str, out: Path, queue: multiprocessing.Queue) -> None:
    from pricebench import Tester, load_dataset, make_pricer

    file, options, currency = DATASETS[dataset]
    data = load_dataset(DATA / file, currency=currency, **options)
    pricer = make_pricer(spec)
    results = Tester(pricer, data.test, out=out, resume="overwrite", progress=False).run(
        fit_on=data.train
    )
    fit = results.header.fit_seconds or 0.0  # timed by the Tester itself
    predict = results.header.totals["seconds"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    queue.put((fit, predict, peak_mb, len(data.train), len(data.test)))


def board(dataset: str, specs: list[str], out: Path) -> None:
    from pricebench.cli.common import slug
    from pricebench.compare import compare
    from pricebench.results import Results, money

    currency = DATASETS[dataset][2]
    context = multiprocessing.get_context("spawn")
    rows = []
    for spec in specs:
        queue = context.Queue()
        run_dir = out / dataset / slug(spec)
        process = context.Process(target=run_one, args=(dataset, spec, run_dir, queue))
        process.start()
        process.join()
        if process.exitcode != 0:
            print(f"{spec}: failed (exit {process.exitcode})", file=sys.stderr)
            continue
        fit, predict, peak, n_train, n_test = queue.get()
        rows.append((spec, Results.load(run_dir), fit, predict, peak))
        print(f"{dataset}: {spec} done", file=sys.stderr, flush=True)
    print(f"\n### {DATASETS[dataset][0]}: fit on {n_train:,} train items, {n_test:,} test items\n")
    print(
        "| pricer | MAE [95% CI] | RMSLE [95% CI] | hit rate [95% CI] | fit (s) | predict (s) "
        "| peak memory (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for spec, results, fit, predict, peak in rows:
        s = results.scores
        ci = s.mean_error_ci
        mae = f"{money(s.mean_error, currency)} [{ci.low:,.2f}, {ci.high:,.2f}]"
        rmsle = f"{s.rmsle:.3f} [{s.rmsle_ci.low:.3f}, {s.rmsle_ci.high:.3f}]"
        hits = f"{s.hit_rate:.1%} [{s.hit_rate_ci.low:.1%}, {s.hit_rate_ci.high:.1%}]"
        failed = f" ({results.n_failed} failed)" if results.n_failed else ""
        print(
            f"| {spec}{failed} | {mae} | {rmsle} | {hits} | {fit:,.1f} | {predict:,.2f} "
            f"| {peak:,.0f} |"
        )
    by_name = {spec: results for spec, results, *_ in rows}
    best = by_name.get("local-best")
    if best is None:
        return
    constant = by_name.get("constant")
    if constant is not None:
        ratio = best.scores.mean_error / constant.scores.mean_error
        print(f"\nlocal-best MAE / constant MAE = {ratio:.3f}")
    print("\nPaired bootstrap tests of local-best against each pricer (mean absolute error):\n")
    for spec, results, *_ in rows:
        if spec != "local-best":
            print(f"- {compare(best, results).summary(currency)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--specs", nargs="+", default=SPECS)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "local-leaderboard")
    args = parser.parse_args()
    for dataset in args.data:
        board(dataset, args.specs, args.out)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
