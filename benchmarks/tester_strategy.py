"""Does `workers` slow down a pricer that prices in bulk? (issue 15: it used to, 3x)

Fits tfidf-ridge on the course-items train split, then prices the 500 test items with the Tester
at workers=1 and workers=4, best of three runs each. With the Execution strategy the pricer's
`predict_batch` is used in both cases, so the two times should be the same.

    python benchmarks/tester_strategy.py
"""

from __future__ import annotations

import time

from pricebench import Tester, load_dataset, make_pricer


def main() -> None:
    data = load_dataset("../shared/data/course-items.jsonl")
    pricer = make_pricer("tfidf-ridge").fit(data.train)
    for workers in (1, 4):
        times = []
        for _ in range(3):
            began = time.perf_counter()
            Tester(pricer, data.test, workers=workers, progress=False).run()
            times.append(time.perf_counter() - began)
        strategy = Tester(pricer, data.test, workers=workers).execution.strategy(pricer)
        print(f"workers={workers}: {min(times):.2f} s for 500 items (strategy: {strategy})")


if __name__ == "__main__":
    main()
