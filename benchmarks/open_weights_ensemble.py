"""What the open model adds (issue 29): a LoRA fine-tuned SmolLM2, local-best, and a stacking
ensemble of the two, on the 500 course test items, with paired tests.

The data file is course-items.jsonl with 390 train items relabelled "validation"
(`benchmarks/validation_split.py`): the fine-tune and local-best learn from the other 1,562, and the
ensemble fits its weights on the 390 that neither learned from. Each run is saved under OUT (run it
again to continue), then the leaderboard and the paired comparisons are printed.

    python benchmarks/open_weights_ensemble.py DATA ADAPTER OUT

(from the folder the adapter's base model path is relative to, as `pricebench finetune lora`
wrote it).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one torch thread: two fight on a busy machine

from pricebench import Tester, load_dataset, make_pricer  # noqa: E402
from pricebench.compare import compare, leaderboard  # noqa: E402
from pricebench.local.ensemble import Ensemble  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("adapter", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    data = load_dataset(args.data)
    print(f"data: {data!r}")

    def open_model():
        return make_pricer(f"hf:{args.adapter}", method="top-k", device="cpu")

    runs = {}
    for name, pricer in (("lora-top-k", open_model()), ("local-best", make_pricer("local-best"))):
        runs[name] = Tester(pricer, data.test, out=args.out / name).run(fit_on=data.train)
        print(runs[name].summary())
    ensemble = Ensemble([open_model(), "local-best"], method="stack")
    ensemble.fit(data.train, validation=data.validation)
    print(f"ensemble weights {ensemble.weights_} (on {len(data.validation)} validation items)")
    runs["ensemble"] = Tester(ensemble, data.test, out=args.out / "ensemble").run()
    print(runs["ensemble"].summary())
    print(leaderboard(list(runs.values())))
    for a, b in (
        ("ensemble", "local-best"),
        ("ensemble", "lora-top-k"),
        ("lora-top-k", "local-best"),
    ):
        print(compare(runs[a], runs[b]).summary())


if __name__ == "__main__":
    main()
