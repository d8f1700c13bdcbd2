"""Write a copy of a data file with part of its train split relabelled "validation".

The file issue 29's open-weights measurement used (docs/benchmarks.md, "What the open model
adds"): `pricebench.data.split_off(data.train, 0.2, seed=0)` of course-items.jsonl, its 390 items
relabelled, every other line as it was. A fine-tune and `local-best` then learn from the other
1,562 train items, and an ensemble fits its weights on the 390 no member learned from.

Run from the repository root:
    python benchmarks/validation_split.py ../shared/data/course-items.jsonl course-items-val.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pricebench import load_dataset
from pricebench.data import split_off


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_dataset(args.source)
    _, part = split_off(data.train, args.fraction, args.seed)
    moved = {item.id for item in part}
    lines = []
    for line in args.source.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["id"] in moved:
            record["split"] = "validation"
        lines.append(json.dumps(record, ensure_ascii=False))
    args.target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{args.target}: {len(moved)} of {len(data.train)} train items now 'validation'")


if __name__ == "__main__":
    main()
