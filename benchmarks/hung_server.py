"""How long `pricebench run` takes to stop against a server that accepts and never answers.

A socket on 127.0.0.1 accepts every connection and never reads or answers. `pricebench run
openai:gpt-4o-mini --base-url URL --size 30 --workers 4` runs against it with the default
settings (60 s timeout, 5 retries, per-item deadline 3 x timeout); the script prints the exit code,
the wall time, the connections the server took and the line that stopped the run.

    python benchmarks/hung_server.py [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

from pricebench.cli import main as pricebench

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "course-items.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=None, help="default: the pricer's own")
    args = parser.parse_args()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    os.environ.setdefault("OPENAI_API_KEY", "sk-not-a-real-key")
    extra = ["--param", f"timeout={args.timeout}"] if args.timeout else []
    err = io.StringIO()
    with tempfile.TemporaryDirectory() as out:
        os.environ["PRICEBENCH_CACHE"] = str(Path(out) / "cache.sqlite")
        started = time.perf_counter()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = pricebench(
                ["run", "openai:gpt-4o-mini", "--data", str(DATA), "--size", "30"]
                + ["--workers", "4", "--base-url", url, "--out", out, *extra]
            )
        seconds = time.perf_counter() - started
    stopped = next((line for line in err.getvalue().splitlines() if "stopped" in line), "")
    print(f"exit {code} after {seconds:.1f} s, {len(held)} connections taken")
    print(stopped)
    os._exit(0)  # the threads still blocked on the hung sockets are not waited for


if __name__ == "__main__":
    main()
