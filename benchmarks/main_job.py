"""The README's main job in CPU-seconds: `pricebench benchmark` as a whole, and each pricer's fit.

    python benchmarks/main_job.py                 # the whole command, then each pricer alone
    python benchmarks/main_job.py --pricers-only  # each pricer's fit and test error only

CPU-seconds (user + system, every thread) rather than wall time: the machine these figures come
from is shared, so its wall clock says more about the neighbours than about pricebench. The whole
command runs in a child process (`resource.getrusage(RUSAGE_CHILDREN)`, as /usr/bin/time reads
it). Each pricer is then fitted on the 1,952 train items of `../shared/data/course-items.jsonl`
in this process (`time.process_time`) and scored on the 500 test items (mean absolute error).
Run it with another PYTHONPATH to measure another version of pricebench the same way.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "course-items.jsonl"


def whole_command() -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "pricebench", "benchmark", "--data", str(DATA)]
        done = subprocess.run(
            [*command, "--out", out], capture_output=True, text=True, env=os.environ
        )
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"pricebench benchmark failed ({done.returncode}):\n{done.stderr[-2000:]}")
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    print(
        f"pricebench benchmark: {user + system:.1f} CPU-s ({user:.1f} user + {system:.1f} "
        f"system), {wall:.1f} s wall-clock"
    )
    print(done.stdout)


def each_pricer() -> None:
    import numpy as np

    from pricebench import load_dataset, make_pricer
    from pricebench.cli.benchmark import DEFAULT_SPECS

    data = load_dataset(DATA)
    truth = np.array([item.price for item in data.test])
    print("| pricer | fit (CPU-s) | test MAE |")
    print("|---|---:|---:|")
    for spec in [*DEFAULT_SPECS, "tfidf-ridge", "tfidf-svr"]:
        pricer = make_pricer(spec)
        began = time.process_time()
        if hasattr(pricer, "fit"):
            pricer.fit(data.train)
        fit = time.process_time() - began
        if hasattr(pricer, "predict_batch"):
            guesses = np.array(pricer.predict_batch(data.test))
        else:
            guesses = np.array([pricer.predict(item) for item in data.test])
        print(f"| {spec} | {fit:.1f} | ${np.abs(guesses - truth).mean():.2f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pricers-only", action="store_true", help="skip the whole command")
    args = parser.parse_args()
    if not args.pricers_only:
        whole_command()
    each_pricer()
    return 0


if __name__ == "__main__":
    sys.exit(main())
