"""One run's cost as pricebench reports it, next to genai-prices' figure for the same usage.

A stand-in OpenAI server on 127.0.0.1 (not the real API: no key, no spend) answers each chat
completion with usage shaped as OpenAI reports it: `prompt_tokens` (one token per 4 characters of
the messages), `prompt_tokens_details.cached_tokens` (the prefix shared with an earlier request,
in 128-token steps from 1,024 tokens, as OpenAI's prompt caching works) and `completion_tokens`.
The prompt is the course's, with a few-shot system message of `--shots` training items and their
prices: a long shared prefix, where prompt caching matters. The script runs the real openai SDK
and the Tester on the first `--size` test items of course-items.jsonl, then prices each item's
recorded usage with `genai_prices.calc_price` and prints both totals, with what the old rate
(read once from a 1M + 1M-token usage) would have said.

    python benchmarks/cost_check.py --model gpt-5.5 --size 50 --shots 60
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai
from genai_prices import Usage, calc_price
from standin import chat_completion, send_json

from pricebench import Tester
from pricebench.chat.openai import OpenAIPricer
from pricebench.chat.prompts import COURSE_PROMPT, PromptTemplate
from pricebench.data import load_items
from pricebench.results import read_run

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "course-items.jsonl"


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


def make_server() -> ThreadingHTTPServer:
    seen: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = "".join(m["content"] for m in body["messages"])
            with lock:
                shared = max((_common(text, old) for old in seen), default=0)
                seen.append(text)
            prompt = tokens(text)
            cached = (tokens(text[:shared]) // 128) * 128
            cached = cached if cached >= 1024 else 0
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": 5,
                "total_tokens": prompt + 5,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            }
            send_json(self, chat_completion(body["model"], usage))

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gpt-5.5")
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--shots", type=int, default=60)
    args = parser.parse_args()
    train = load_items(DATA, split="train")
    test = load_items(DATA, split="test")[: args.size]
    examples = "\n\n".join(
        f"{item.text[:600]}\nPrice is ${item.price:.2f}" for item in train[: args.shots]
    )
    prompt = PromptTemplate(
        system=f"{COURSE_PROMPT.system}\n\nExamples:\n\n{examples}"
        if examples
        else COURSE_PROMPT.system,
        user=COURSE_PROMPT.user,
        prefill=COURSE_PROMPT.prefill,
    )
    server = make_server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    client = openai.OpenAI(api_key="stand-in", base_url=url)  # no key needed, none sent out
    pricer = OpenAIPricer(args.model, client=client, cache=False, prompt=prompt, max_retries=0)
    with tempfile.TemporaryDirectory() as out:
        Tester(pricer, test, out=Path(out) / "run", workers=1).run()
        run = read_run(Path(out) / "run")
    server.shutdown()
    reference = 0.0
    old = 0.0
    million = calc_price(
        Usage(input_tokens=1_000_000, output_tokens=1_000_000), args.model, provider_id="openai"
    )
    for record in run.records:
        usage = Usage(
            input_tokens=record.input_tokens,
            cache_read_tokens=record.cache_read_tokens or None,
            output_tokens=record.output_tokens,
        )
        reference += float(calc_price(usage, args.model, provider_id="openai").total_price)
        old += (
            record.input_tokens * float(million.input_price)
            + record.output_tokens * float(million.output_price)
        ) / 1e6
    print(
        f"model {args.model}, {len(run.records)} items, {args.shots}-shot prompt (stand-in server)"
    )
    print(f"  {run.usage_text()}")
    print(f"  pricebench run cost:            USD {run.cost:.6f}")
    print(f"  genai-prices, same usage:       USD {reference:.6f}")
    print(f"  old rate (1M + 1M usage, no cache): USD {old:.6f}")


if __name__ == "__main__":
    main()
