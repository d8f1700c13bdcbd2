"""Curation throughput and peak memory: pricebench's streaming curation vs the course's rules.

The input is the real raw sample (../shared/data/meta_Health_and_Personal_Care.sample.jsonl,
2,635 records, 434 with a price) repeated into a bigger file in a temporary directory. For each
preset (course-2024, course-2025), each variant runs in a fresh process, which reports its CPU
time (its own plus its workers') and peak resident memory (its own, and the largest worker's):

  course        the course's rules as it ran them (tests/course_rules.py: week6 items.py +
                loaders.py for 2024, pricer/parser.py for 2025): every record decoded into
                memory first, as `datasets` handed them over (price as a string, details as a
                JSON string), then parsed one by one in this process. 2024 counts and cuts with
                the real Llama 3 tokenizer through transformers' fast tokenizer, as the course's
                `Item` did (encode, decode of the first 160 tokens with transformers 4's clean-up,
                and the encode of the finished prompt that `make_prompt` made for its count).
  course-streamed  the same rules on one decoded record at a time: their own cost, without the
                growth of a process holding every record (which slows the `course` variant
                down as the input grows; `datasets` held them in Arrow instead).
  pricebench-1  pricebench.pipeline.curate_file with the same preset, workers=1 (one process).
  pricebench-N  the same with N worker processes (default: CPU count).

Both kinds keep the same items (the kept counts are printed side by side). records per CPU-second
= records / CPU seconds; the ratio is pricebench's over the course's, measured in the same run.
Run:  python benchmarks/curation_throughput.py --records 200000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared/data/meta_Health_and_Personal_Care.sample.jsonl"
PRESETS = ("course-2024", "course-2025")
TARGET = 5.0  # the goal for records per CPU-second against the course's rules

_TOKENIZER: list = []  # the course's tokenizer, loaded once per process


def course_item(record: dict, preset: str) -> str | None:
    """The text the course kept for one raw record (after its 2024 token cut), or None."""
    sys.path.insert(0, str(ROOT))
    from tests.course_rules import as_datasets_row, course_2024_text, course_2025_text

    row = as_datasets_row(record)
    if preset == "course-2025":
        return course_2025_text(row)
    if not _TOKENIZER:
        from tests.course_rules import course_tokenizer

        _TOKENIZER.append(course_tokenizer())
    tokenizer = _TOKENIZER[0]
    tokens: list[int] = []

    def count(text: str) -> int:  # the course's one encode
        tokens[:] = tokenizer.encode(text, add_special_tokens=False)
        return len(tokens)

    text = course_2024_text(row, count)
    if text is None:
        return None
    text = tokenizer.decode(tokens[:160])
    prompt = f"How much does this cost to the nearest dollar?\n\n{text}\n\nPrice is $1.00"
    tokenizer.encode(prompt, add_special_tokens=False)  # make_prompt's token_count
    return text


def run_course_streamed(path: Path, preset: str) -> tuple[int, int]:
    records = kept = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:  # one record at a time: the rules' own cost, no memory growth
            records += 1
            kept += course_item(json.loads(line), preset) is not None
    return records, kept


def run_course(path: Path, preset: str) -> tuple[int, int]:
    with open(path, encoding="utf-8") as handle:
        dataset = [json.loads(line) for line in handle]  # what load_dataset hands over
    course_item(dataset[0], preset)  # imports done
    items = [text for text in (course_item(record, preset) for record in dataset) if text]
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
    if not variant.startswith("course"):
        import pricebench.pipeline.stream  # noqa: F401 - imported before the clock starts
    else:
        course_item({"price": None, "details": {}}, preset)  # imports before the clock starts
    start_wall, start = time.perf_counter(), os.times()
    if variant == "course":
        records, kept = run_course(path, preset)
    elif variant == "course-streamed":
        records, kept = run_course_streamed(path, preset)
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
    from pricebench.pipeline.stream import curate_chunk

    config = CurationConfig.preset(preset).resolved()
    lines = SAMPLE.read_bytes().splitlines() * copies
    kinds = {
        "no price": [line for line in lines if json.loads(line)["price"] is None],
        "priced": [line for line in lines if json.loads(line)["price"] is not None],
    }
    course_item(json.loads(kinds["priced"][0]), preset)  # the tokenizer loaded before timing
    curate_chunk(kinds["priced"][0], config, "Health_and_Personal_Care")
    print(f"\n{preset}: CPU microseconds per record ({copies}x the sample, in one process):")
    print(f"{'records':<10}{'share':>7}{'course':>9}{'pricebench':>12}")
    for name, batch in kinds.items():
        chunk = b"\n".join(batch)  # what a worker reads, not timed
        start = time.process_time()
        for line in batch:
            course_item(json.loads(line), preset)
        middle = time.process_time()
        curate_chunk(chunk, config, "Health_and_Personal_Care")
        end = time.process_time()
        share = len(batch) / len(lines)
        print(f"{name:<10}{share:>7.0%}{(middle - start) / len(batch) * 1e6:>9.1f}"
              f"{(end - middle) / len(batch) * 1e6:>12.1f}")  # fmt: skip


def perturbed_file(path: Path, records: int) -> None:
    """`records` raw records: the sample over and over, each copy with its own ids and titles
    (so that dedupe keeps them, as different products)."""
    sample = [json.loads(line) for line in SAMPLE.read_bytes().splitlines()]
    with open(path, "w", encoding="utf-8") as sink:
        for n in range(records):
            record = dict(sample[n % len(sample)])
            copy = n // len(sample)
            if copy:
                record["parent_asin"] = f"{record['parent_asin']}-{copy}"
                record["title"] = f"{record['title']} (lot {copy})"
            sink.write(json.dumps(record) + "\n")


def measure_build(path: Path, workers: int, preset: str) -> dict:
    from pricebench.pipeline.build import build_dataset
    from pricebench.pipeline.curate import CurationConfig

    start_wall, start = time.perf_counter(), os.times()
    manifest = build_dataset(path.with_name("built"), raw_files=[path], test=0.1,
                             config=CurationConfig.preset(preset), workers=workers)  # fmt: skip
    end = os.times()
    cpu = (end.user - start.user) + (end.system - start.system)
    cpu += (end.children_user - start.children_user) + (end.children_system - start.children_system)
    return {
        "records": manifest.sources[0].records,
        "kept": manifest.items,
        "wall_s": time.perf_counter() - start_wall,
        "cpu_s": cpu,
        "peak_main_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def in_fresh_process(variant: str, path: Path, workers: int, preset: str) -> dict:
    command = [sys.executable, __file__, "--measure", variant, "--input", str(path),
               "--workers", str(workers), "--preset", preset]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[200_000],
                        help="input sizes in records (default: 200000)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--preset", choices=PRESETS, nargs="+", default=list(PRESETS))
    parser.add_argument("--build", type=int, default=None, metavar="RECORDS",
                        help="instead: peak memory of `build` on a file of RECORDS distinct "
                        "records (the sample with new ids and titles per copy)")  # fmt: skip
    parser.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        (preset,) = args.preset
        if args.measure == "build":
            print(json.dumps(measure_build(args.input, args.workers, preset)))
        else:
            print(json.dumps(measure(args.measure, args.input, args.workers, preset)))
        return
    if args.build:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "meta_Health_and_Personal_Care.jsonl"
            perturbed_file(path, args.build)
            size = path.stat().st_size / 2**20
            for preset in args.preset:
                row = in_fresh_process("build", path, args.workers, preset)
                print(f"build {preset}, {row['records']:,} records ({size:,.0f} MiB), "
                      f"{args.workers} workers: {row['kept']:,} items, {row['wall_s']:.0f} s, "
                      f"peak main {row['peak_main_mib']:,.0f} MiB, "
                      f"peak worker {row['peak_worker_mib']:,.0f} MiB")  # fmt: skip
        return

    sample = SAMPLE.read_bytes().splitlines(keepends=True)
    print(f"input: {SAMPLE.name} ({len(sample):,} records) repeated; {os.cpu_count()} CPUs")
    header = f"{'variant':<15}{'records':>10}{'kept':>8}{'wall s':>8}{'CPU s':>8}"
    header += f"{'rec/CPU-s':>11}{'peak main MiB':>15}{'peak worker MiB':>17}"
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.records:
            path = Path(tmp) / "meta_Health_and_Personal_Care.jsonl"
            with open(path, "wb") as sink:
                for n in range(size):
                    sink.write(sample[n % len(sample)])
            for preset in args.preset:
                print(f"\n{preset}, {size:,} records = {path.stat().st_size / 2**20:,.0f} MiB")
                print(header)
                rows = {}
                for variant, workers in (("course", 1), ("course-streamed", 1), ("pricebench", 1),
                                         ("pricebench", args.workers)):  # fmt: skip
                    name = variant if variant.startswith("course") else f"{variant}-{workers}"
                    row = rows[name] = in_fresh_process(variant, path, workers, preset)
                    rate = row["records"] / row["cpu_s"]
                    print(f"{name:<15}{row['records']:>10,}{row['kept']:>8,}{row['wall_s']:>8.2f}"
                          f"{row['cpu_s']:>8.2f}{rate:>11,.0f}{row['peak_main_mib']:>15,.0f}"
                          f"{row['peak_worker_mib']:>17,.0f}")  # fmt: skip
                for course in ("course", "course-streamed"):
                    base = rows[course]["records"] / rows[course]["cpu_s"]
                    for name, row in rows.items():
                        if not name.startswith("course"):
                            ratio = row["records"] / row["cpu_s"] / base
                            verdict = "met" if ratio >= TARGET else "NOT met"
                            print(f"ratio {name} / {course}, records per CPU-second: "
                                  f"{ratio:.1f}x (target {TARGET:.0f}x: {verdict})")  # fmt: skip
                wall = rows["course"]["wall_s"] / rows[f"pricebench-{args.workers}"]["wall_s"]
                print(f"ratio pricebench-{args.workers} / course, wall clock: {wall:.1f}x")
    for preset in args.preset:
        breakdown(preset)


if __name__ == "__main__":
    main()
