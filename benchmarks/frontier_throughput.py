"""Throughput of a chat pricer against concurrency, on a local fake OpenAI-compatible server.

The server (a real HTTP server on 127.0.0.1, in a thread) answers each chat completion after a
fixed latency, like a remote API would. The pricer reaches it through the real openai SDK
(`base_url`), and the Tester prices items on N threads. With latency L, N workers can at best
price N / L items per second; the target is at least 80% of that at N = 16.

    python benchmarks/frontier_throughput.py --latency 0.3 --concurrency 1 4 16 32
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
from standin import chat_completion, send_json

from pricebench import Item, Tester
from pricebench.chat.openai import OpenAIPricer


def make_server(latency: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real APIs
        # Headers and body go out in two writes: without this, Nagle's algorithm and delayed
        # ACKs add about 40 ms to every answer, which no real API has.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(latency)
            usage = {"prompt_tokens": 100, "completion_tokens": 4, "total_tokens": 104}
            send_json(self, chat_completion(body["model"], usage))
            self.server.requests += 1  # type: ignore[attr-defined]

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    # 128 workers connect at once: the default listen backlog of 5 refused some of them.
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.requests = 0  # type: ignore[attr-defined]
    return server


def measure(url: str, workers: int, count: int) -> float:
    """Items per second pricing `count` items on `workers` threads (no cache)."""
    items = [
        Item(id=f"b{workers}-{n}", title=f"Item {n}", text=f"Item number {n}", price=40.0)
        for n in range(count)
    ]
    client = openai.OpenAI(api_key="stand-in", base_url=url)  # no key needed, none sent out
    pricer = OpenAIPricer("gpt-4o-mini", client=client, cache=False, max_retries=0)
    # One call outside the timing: the SDK's first request loads its types and connects.
    pricer.estimate(Item(id="warm-up", title="warm-up", text="warm-up", price=1.0))
    began = time.perf_counter()
    results = Tester(pricer, items, workers=workers, progress=False).run()
    seconds = time.perf_counter() - began
    if results.n_failed:
        raise SystemExit(f"{results.n_failed} items failed: {results.records[0].failure}")
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per request")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument(
        "--rounds", type=int, default=6, help="items per worker (bounds the request count)"
    )
    args = parser.parse_args()

    server = make_server(args.latency)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    print(f"fake server {url}, latency {args.latency * 1000:.0f} ms")
    print(f"{'workers':>8} {'items':>6} {'items/s':>9} {'ideal':>8} {'efficiency':>10}")
    failed = False
    try:
        for workers in args.concurrency:
            count = workers * args.rounds
            rate = measure(url, workers, count)
            ideal = workers / args.latency
            print(f"{workers:>8} {count:>6} {rate:>9.1f} {ideal:>8.1f} {rate / ideal:>10.0%}")
            if workers == 16 and rate < 0.8 * ideal:
                failed = True
    finally:
        server.shutdown()
    print(f"requests served: {server.requests}")  # type: ignore[attr-defined]
    if 16 in args.concurrency:
        verdict = "below" if failed else "meets"
        print(f"at 16 workers: {verdict} the target of 0.8 x 16 / latency items per second")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
