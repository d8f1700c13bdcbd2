"""How good is the retrieval context? The neighbours' median price, scored as a pricer.

`SimilarItems` puts the k training items most like the one being priced, with their prices, into
a chat model's prompt (the course's week-8 RAG). Before paying for any call, this measures how
much those neighbours alone tell: the median of their prices as the guess, on the test split,
after indexing the train split. Also the time to index and to search.

    python benchmarks/frontier_context.py --k 5 [--embeddings --torch-threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from pricebench import Tester, load_dataset
from pricebench.chat.context import EmbeddingIndex, SimilarItems, TfidfIndex

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "course-items.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument(
        "--embeddings", action="store_true", help="also all-MiniLM-L6-v2 (extra 'embeddings')"
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch threads for the embeddings (1 is fastest on a small, busy machine)",
    )
    args = parser.parse_args()
    if args.embeddings and args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)

    data = load_dataset(args.data)
    indexes = {"tfidf": TfidfIndex()}
    if args.embeddings:
        indexes["embeddings"] = EmbeddingIndex()
    print(f"{data!r}, k={args.k}")
    print(f"{'index':<11} {'fit s':>6} {'ms/item':>8} {'mean error':>11} {'RMSLE':>6} {'hits':>6}")
    for name, index in indexes.items():
        began = time.perf_counter()
        context = SimilarItems(index, k=args.k).fit(data.train)
        fit_seconds = time.perf_counter() - began

        def neighbours_median(item, context=context):
            return statistics.median(other.price for other, _ in context.similar(item))

        began = time.perf_counter()
        results = Tester(neighbours_median, data.test, progress=False).run()
        per_item = (time.perf_counter() - began) / len(data.test) * 1000
        print(
            f"{name:<11} {fit_seconds:>6.1f} {per_item:>8.1f} "
            f"{'$' + format(results.mean_error, ',.2f'):>11} {results.rmsle:>6.2f} "
            f"{results.hit_rate:>6.1%}"
        )


if __name__ == "__main__":
    main()
