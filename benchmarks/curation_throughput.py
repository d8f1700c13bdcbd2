"""Curation throughput and peak memory: pricebench's streaming curation vs the course's parser.

The input is the real raw sample (../shared/data/meta_Health_and_Personal_Care.sample.jsonl,
2,635 records) repeated to make bigger files in a temporary directory. Each variant runs in a fresh
process, which reports its CPU time (its own plus its workers') and peak resident memory (its own,
and the largest of its workers'):

  course    a straightforward reimplementation of the course's week-6 parser (pricer/parser.py
            with loaders.py): all records loaded into memory first, as `datasets` hands them over,
            then parsed one by one in this process.
  pricebench-1  pricebench.pipeline.curate_file, workers=1 (this process only).
  pricebench-N  the same with N worker processes (default: CPU count).

records/s/core = records / CPU seconds. Run:  python benchmarks/curation_throughput.py
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = (
    Path(__file__).resolve().parents[1].parent
    / "shared/data/meta_Health_and_Personal_Care.sample.jsonl"
)

TARGET = 5.0  # the goal for records per CPU-second against the course's parser

# --- the course's parser, reimplemented as written (week6/pricer/parser.py) ----------------------
MIN_CHARS = 600
MIN_PRICE = 0.5
MAX_PRICE = 999.49
MAX_TEXT_EACH = 3000
MAX_TEXT_TOTAL = 4000
REMOVALS = [
    "Part Number",
    "Best Sellers Rank",
    "Batteries Included?",
    "Batteries Required?",
    "Item model number",
]


def course_simplify(text_list: object) -> str:
    return (
        str(text_list)
        .replace("\n", " ")
        .replace("\r", "")
        .replace("\t", "")
        .replace("  ", " ")
        .strip()[:MAX_TEXT_EACH]
    )


def course_scrub(title: str, description: list, features: list, details: dict) -> str:
    for remove in REMOVALS:
        details.pop(remove, None)
    result = title + "\n"
    if description:
        result += course_simplify(description) + "\n"
    if features:
        result += course_simplify(features) + "\n"
    if details:
        result += json.dumps(details) + "\n"
    pattern = r"\b(?=[A-Z0-9]{7,}\b)(?=.*[A-Z])(?=.*\d)[A-Z0-9]+\b"
    return re.sub(pattern, "", result).strip()[:MAX_TEXT_TOTAL]


def course_weight(details: dict) -> float:
    weight_str = details.get("Item Weight")
    if weight_str:
        parts = weight_str.split(" ")
        amount = float(parts[0])
        unit = parts[1].lower()
        factors = {"pounds": 1, "ounces": 1 / 16, "grams": 1 / 453.592, "milligrams": 1 / 453592}
        if unit in factors:
            return amount * factors[unit]
        if unit == "kilograms":
            return amount / 0.453592
        if unit == "hundredths" and parts[2].lower() == "pounds":
            return amount / 100
    return 0


def course_parse(datapoint: dict, category: str) -> dict | None:
    # The `datasets` copy held prices as strings ("None" for null); the course float()-ed them.
    try:
        price = float(str(datapoint["price"]))
    except ValueError:
        return None
    if MIN_PRICE <= price <= MAX_PRICE:
        details = datapoint["details"]
        details = json.loads(details) if isinstance(details, str) else dict(details)
        weight = course_weight(details)
        full = course_scrub(
            datapoint["title"], datapoint["description"], datapoint["features"], details
        )
        if len(full) >= MIN_CHARS:
            return {"title": datapoint["title"], "category": category, "price": price,
                    "full": full, "weight": weight}  # fmt: skip
    return None


def run_course(path: Path) -> tuple[int, int]:
    with open(path, encoding="utf-8") as handle:
        dataset = [json.loads(line) for line in handle]  # what load_dataset hands over
    items = [
        item for item in (course_parse(d, "Health_and_Personal_Care") for d in dataset) if item
    ]
    return len(dataset), len(items)


def run_pricebench(path: Path, workers: int, preset: str) -> tuple[int, int]:
    from pricebench.pipeline.curate import CurationConfig
    from pricebench.pipeline.stream import curate_file

    out = path.with_name(f"curated-{workers}-{preset}.jsonl")
    report = curate_file(path, out, config=CurationConfig.preset(preset), workers=workers)
    out.unlink()
    return report.records, report.kept


def measure(variant: str, path: Path, workers: int, preset: str) -> dict:
    """Run one variant in this (fresh) process and return its figures (imports not timed)."""
    if variant != "course":
        import pricebench.pipeline.stream  # noqa: F401 - imported before the clock starts
    start_wall, start = time.perf_counter(), os.times()
    if variant == "course":
        records, kept = run_course(path)
    else:
        records, kept = run_pricebench(path, workers, preset)
    end, wall = os.times(), time.perf_counter() - start_wall
    cpu = (end.user - start.user) + (end.system - start.system)
    cpu += (end.children_user - start.children_user) + (end.children_system - start.children_system)
    return {
        "records": records,
        "kept": kept,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_main_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def breakdown(preset: str, copies: int = 4) -> None:
    """CPU microseconds per record, for records without a price and with one, in this process."""
    from pricebench.pipeline.curate import CurationConfig
    from pricebench.pipeline.stream import curate_lines

    config = CurationConfig.preset(preset)
    lines = SAMPLE.read_bytes().splitlines() * copies
    kinds = {
        "no price": [line for line in lines if json.loads(line)["price"] is None],
        "priced": [line for line in lines if json.loads(line)["price"] is not None],
    }

    def course(batch: list[bytes]) -> None:
        for line in batch:
            course_parse(json.loads(line), "Health_and_Personal_Care")

    print(f"\nCPU microseconds per record ({copies}x the sample, in one process):")
    print(f"{'records':<10}{'share':>7}{'course':>9}{'pricebench':>12}")
    for name, batch in kinds.items():
        start = time.process_time()
        course(batch)
        middle = time.process_time()
        curate_lines(batch, config, "Health_and_Personal_Care")
        end = time.process_time()
        share = len(batch) / len(lines)
        print(f"{name:<10}{share:>7.0%}{(middle - start) / len(batch) * 1e6:>9.1f}"
              f"{(end - middle) / len(batch) * 1e6:>12.1f}")  # fmt: skip


def in_fresh_process(variant: str, path: Path, workers: int, preset: str) -> dict:
    command = [sys.executable, __file__, "--measure", variant, "--input", str(path),
               "--workers", str(workers), "--preset", preset]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, nargs="+", default=[10, 40],
                        help="sizes: copies of the sample (default: 10 40)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--preset", default="course-2025", help="pricebench rules (default: the "
                        "course-2025 rules, closest to the course parser's work)")  # fmt: skip
    parser.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.input, args.workers, args.preset)))
        return

    sample = SAMPLE.read_bytes()
    lines = sample.count(b"\n")
    print(f"input: {SAMPLE.name} ({lines:,} records) repeated; "
          f"{os.cpu_count()} CPUs; pricebench rules: {args.preset}")  # fmt: skip
    header = f"{'variant':<15}{'records':>10}{'kept':>8}{'wall s':>8}{'CPU s':>8}"
    header += f"{'rec/s/core':>12}{'peak main MiB':>15}{'peak worker MiB':>17}"
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in args.repeat:
            path = Path(tmp) / "meta_Health_and_Personal_Care.jsonl"
            with open(path, "wb") as sink:
                for _ in range(repeat):
                    sink.write(sample)
            print(f"\n{repeat}x = {path.stat().st_size / 2**20:,.0f} MiB")
            print(header)
            rows = {}
            for variant, workers in (
                ("course", 1),
                ("pricebench", 1),
                ("pricebench", args.workers),
            ):
                name = variant if variant == "course" else f"{variant}-{workers}"
                row = rows[name] = in_fresh_process(variant, path, workers, args.preset)
                rate = row["records"] / row["cpu_s"]
                print(f"{name:<15}{row['records']:>10,}{row['kept']:>8,}{row['wall_s']:>8.2f}"
                      f"{row['cpu_s']:>8.2f}{rate:>12,.0f}{row['peak_main_mib']:>15,.0f}"
                      f"{row['peak_worker_mib']:>17,.0f}")  # fmt: skip
            base = rows["course"]["records"] / rows["course"]["cpu_s"]
            for name, row in rows.items():
                if name != "course":
                    ratio = row["records"] / row["cpu_s"] / base
                    verdict = "met" if ratio >= TARGET else "NOT met"
                    print(f"ratio {name} / course, records per CPU-second: {ratio:.1f}x "
                          f"(target {TARGET:.0f}x: {verdict})")  # fmt: skip
            wall = rows["course"]["wall_s"] / rows[f"pricebench-{args.workers}"]["wall_s"]
            print(f"ratio pricebench-{args.workers} / course, wall clock: {wall:.1f}x")
    breakdown(args.preset)


if __name__ == "__main__":
    main()
