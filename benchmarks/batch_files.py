"""Batch mode at scale: building request files and reading result files for 100,000 items.

Runs the real code path (`pricebench.batch.runner`): the pricers' own `request(item)`, cache keys,
the split to each provider's limits, the manifests; then, on result files in each provider's
documented format, the manifest lookup, the pricers' own `read` and `parse`, and batch pricing.
No network: the result files are written here. Items stream from a generator that cycles the
real course items under new ids, so memory is what the batch code itself holds.

    python benchmarks/batch_files.py            # 100,000 items, both providers
    python benchmarks/batch_files.py --items 20000
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import anthropic
import openai

from pricebench import Item, load_items
from pricebench.batch import BatchOptions
from pricebench.batch.runner import _Run
from pricebench.chat.anthropic import AnthropicPricer
from pricebench.chat.openai import OpenAIPricer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "course-items.jsonl"


def stream_items(n: int, base: list[Item]) -> Iterator[Item]:
    for k in range(n):
        item = base[k % len(base)]
        yield item.model_copy(update={"id": f"{item.id}-{k}"})


def openai_result(cid: str, k: int) -> dict:
    body = {
        "id": f"chatcmpl-{k}",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"Price is ${k % 900 + 1}.99"},
                "finish_reason": "stop",
            }
        ],  # noqa: E501
        "usage": {"prompt_tokens": 120, "completion_tokens": 5, "total_tokens": 125},
    }
    return {
        "id": f"batch_req_{k}",
        "custom_id": cid,
        "response": {"status_code": 200, "request_id": f"r{k}", "body": body},
        "error": None,
    }  # noqa: E501


def anthropic_result(cid: str, k: int) -> dict:
    message = {
        "id": f"msg_{k}",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [{"type": "text", "text": f"{k % 900 + 1}.50"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 110, "output_tokens": 4},
    }
    return {"custom_id": cid, "result": {"type": "succeeded", "message": message}}


def pricers():
    yield (
        OpenAIPricer("gpt-4o-mini", client=openai.OpenAI(api_key="unused"), cache=False),
        openai_result,
    )
    yield (
        AnthropicPricer(
            "claude-3-5-haiku-latest", client=anthropic.Anthropic(api_key="unused"), cache=False
        ),
        anthropic_result,
    )


def measure(step: Callable[[], int], memory: bool) -> tuple[float, float, int]:
    """Seconds, peak MiB allocated during the step (when `memory`), and the step's count."""
    gc.collect()
    if memory:
        tracemalloc.start()
    began = time.perf_counter()
    count = step()
    seconds = time.perf_counter() - began
    peak = 0.0
    if memory:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return seconds, peak, count


def one(pricer, make_result, base: list[Item], n: int, workdir: Path, memory: bool) -> dict:
    run = _Run(pricer, workdir, BatchOptions(quiet=True))
    build = measure(lambda: sum(1 for _ in run._prepare(stream_items(n, base))) + n, memory)
    jobs = run.state.jobs
    total_bytes = sum(job.n_bytes for job in jobs)
    for job in jobs:  # the provider's answer files, as if downloaded (not timed)
        name = f"results-{job.index:03d}.jsonl"
        with (
            (run.directory / job.requests_file).open() as requests,
            (run.directory / name).open("w") as out,
        ):
            for k, line in enumerate(requests):
                out.write(json.dumps(make_result(json.loads(line)["custom_id"], k)) + "\n")
        job.result_files, job.downloaded, job.ended, job.status = [name], True, True, "ended"

    def collect() -> int:
        count = 0
        for job in jobs:
            for _, outcome in run._collect(job):
                assert not isinstance(outcome, BaseException), outcome
                count += 1
        return count

    parse = measure(collect, memory)
    assert parse[2] == n
    return {
        "provider": pricer.provider,
        "items": n,
        "batches": len(jobs),
        "request_mb": total_bytes / 2**20,
        "build_s": build[0],
        "build_peak_mib": build[1],
        "parse_s": parse[0],
        "parse_peak_mib": parse[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="size for the memory check")
    args = parser.parse_args()
    base = load_items(DATA)  # read once, outside every measured step
    print(
        f"{'provider':<10} {'items':>8} {'batches':>7} {'request MB':>10} {'build s':>8} "
        f"{'build peak MiB':>14} {'parse s':>8} {'parse peak MiB':>14}"
    )
    for pricer, make_result in pricers():
        for n, memory in ((args.items, False), (args.small, True), (args.items, True)):
            with tempfile.TemporaryDirectory() as tmp:
                row = one(pricer, make_result, base, n, Path(tmp), memory)

            build_peak = f"{row['build_peak_mib']:.1f}" if memory else "(timed run)"
            parse_peak = f"{row['parse_peak_mib']:.1f}" if memory else "(timed run)"
            print(
                f"{row['provider']:<10} {row['items']:>8,} {row['batches']:>7} "
                f"{row['request_mb']:>10.1f} {row['build_s']:>8.2f} {build_peak:>14} "
                f"{row['parse_s']:>8.2f} {parse_peak:>14}"
            )


if __name__ == "__main__":
    main()
