"""Many models of one provider account in one `pricebench run`, under a rate limit and a budget.

A stand-in OpenAI server on 127.0.0.1 (`tests/rate_limits.py` behind a real HTTP server: no key,
no spend) enforces a per-minute request limit enforced per second ("quantized", as OpenAI may:
600 RPM as 10 requests a second), sends the `x-ratelimit-*` headers, and answers 429 with
`retry-after` when the limit is exceeded. The script runs `pricebench run` on 4 models x 500 test
items of course-items.jsonl with `--workers 64` (one account: one limiter), then again with
`--max-cost` at half of what the first run cost, then once more with the cap raised. It prints
the issue's target figures:

- failed items, stopped runs, throughput against the allowed rate, and 429s after the first 10 s;
- with half the cost as cap: the spend against the cap, and the resumed run's completion.

    python benchmarks/rate_limits.py                      # 4 x 500 items, 10 requests/s
    python benchmarks/rate_limits.py --size 100 --rate 20 --latency 0.3
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the stand-in lives with the tests

from tests.rate_limits import RateLimitedAPI  # noqa: E402

from pricebench.cli import main  # noqa: E402
from pricebench.results import Results  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "course-items.jsonl"
MODELS = ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4o", "gpt-5.4-mini"]


def serve(api: RateLimitedAPI) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real APIs
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = httpx2.Request("POST", f"http://standin{self.path}", content=body)
            answer = api(request)
            data = answer.content
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    # 128 workers connect at once: the default listen backlog of 5 refused some of them.
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(url: str, out: Path, size: int, workers: int, *extra: str) -> tuple[int, float, str]:
    """`pricebench run` on the models; its exit code, seconds and what it printed to stderr."""
    specs = [f"openai:{model}" for model in MODELS]
    argv = ["run", *specs, "--data", str(DATA), "--size", str(size), "--workers", str(workers)]
    argv += ["--base-url", url, "--out", str(out), "--no-cache", *extra]
    err = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, time.perf_counter() - began, err.getvalue()


def totals(out: Path) -> tuple[float, int, int, int]:
    """Cost, priced, failed and stopped runs over the run directories under `out`."""
    runs = [Results.load(path) for path in sorted(out.iterdir()) if path.is_dir()]
    cost = sum(r.header.totals.get("cost", 0.0) for r in runs)
    stopped = sum(r.header.status == "stopped" for r in runs)
    return cost, sum(r.n_priced for r in runs), sum(r.n_failed for r in runs), stopped


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=500, help="items per model")
    parser.add_argument("--rate", type=float, default=10.0, help="requests a second allowed")
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per answer")
    args = parser.parse_args()
    os.environ["OPENAI_API_KEY"] = "sk-standin"  # sent only to 127.0.0.1
    scratch = Path(tempfile.mkdtemp(prefix="pricebench-rate-limits-"))
    os.environ["PRICEBENCH_CACHE"] = str(scratch / "cache.sqlite")
    allowed = args.rate
    n = len(MODELS) * args.size

    api = RateLimitedAPI("openai", rpm=int(allowed * 60), quantum=1.0, latency=args.latency)
    server = serve(api)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    print(
        f"stand-in {url}: {allowed:g} requests/s (RPM {int(allowed * 60)} enforced per second), "
        f"latency {args.latency * 1000:.0f} ms; {len(MODELS)} models x {args.size} items, "
        f"--workers {args.workers}"
    )
    code, seconds, _ = run(url, scratch / "full", args.size, args.workers)
    cost, priced, failed, stopped = totals(scratch / "full")
    late = [status for at, status in api.events if at > 10]
    late_429 = sum(status == 429 for status in late) / max(1, len(late))
    throughput = priced / seconds
    served = api.events[-1][0] - api.events[0][0]  # first request to last: without start-up
    print(f"exit {code}: {priced}/{n} priced, {failed} failed, {stopped} runs stopped")
    print(
        f"throughput {throughput:.2f} items/s = {throughput / allowed:.2f} x the allowed rate "
        f"(target >= 0.90) over the command's {seconds:.1f} s; {priced / served:.2f} items/s "
        f"over the {served:.1f} s from its first request to its last"
    )
    print(
        f"429s: {api.limited} of {api.count} requests; after the first 10 s "
        f"{late_429:.1%} (target < 5%)"
    )
    print(f"full cost ${cost:.6f}")
    server.shutdown()

    api = RateLimitedAPI("openai", rpm=int(allowed * 60), quantum=1.0, latency=args.latency)
    server = serve(api)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    cap = cost / 2
    code, seconds, err = run(
        url, scratch / "capped", args.size, args.workers, "--max-cost", f"{cap}"
    )
    half, priced, failed, stopped = totals(scratch / "capped")
    print(
        f"--max-cost {cap:.6f}: exit {code}, spent ${half:.6f} ({half / cap:.1%} of the cap; "
        f"target <= the cap plus one worst-case call per request in flight), {priced}/{n} priced, "
        f"{stopped} runs stopped"
    )
    code, seconds, err = run(
        url, scratch / "capped", args.size, args.workers, "--max-cost", f"{cost * 2}"
    )
    total, priced, failed, stopped = totals(scratch / "capped")
    print(
        f"resumed with --max-cost {cost * 2:.6f}: exit {code}, {priced}/{n} priced, {failed} "
        f"failed, spent ${total:.6f} in all ({total / cost:.3f} x the uncapped run)"
    )
    server.shutdown()


if __name__ == "__main__":
    main_()
