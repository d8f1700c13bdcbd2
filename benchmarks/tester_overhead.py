"""The Tester's own cost per item, with a pricer that does no work.

Prints microseconds per item for 10,000 items: in memory (target: under 50 µs), writing results
to disk as they come, and with four threads. Run: python benchmarks/tester_overhead.py
"""

from __future__ import annotations

import tempfile
import time

from pricebench import Item, Tester

N = 10_000


class Fixed:
    name = "fixed"

    def predict(self, item: Item) -> float:
        return 42.0


def per_item(items: list[Item], write: bool = False, workers: int = 1, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            out = f"{tmp}/run" if write else None
            began = time.perf_counter()
            Tester(Fixed(), items, progress=False, out=out, workers=workers).run()
            best = min(best, time.perf_counter() - began)
    return best / len(items) * 1e6


def main() -> None:
    items = [
        Item(id=str(n), title=f"item {n}", text=f"item {n} text", price=1.0 + n % 500)
        for n in range(N)
    ]
    print(f"Tester overhead, {N:,} items, a pricer that returns a constant (best of 3):")
    print(f"  in memory:              {per_item(items):6.1f} µs per item (target < 50)")
    print(f"  writing results:        {per_item(items, write=True):6.1f} µs per item")
    print(f"  in memory, 4 threads:   {per_item(items, workers=4):6.1f} µs per item")


if __name__ == "__main__":
    main()
