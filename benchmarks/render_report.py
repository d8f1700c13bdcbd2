"""Render the HTML report of real runs in headless Chromium and save a screenshot to look at.

    python benchmarks/render_report.py RESULTS_DIR [--out report.html] [--png report.png]

RESULTS_DIR holds runs made with `pricebench run ...`. The page must show without a server and
without the network, so Chromium runs with networking features off; the script prints the sizes
of the page and screenshot and whether the page asks for anything outside itself. Not a unit test:
CI machines may have no Chromium.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pricebench.compare.report import html_report
from pricebench.results import find_runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("report.html"))
    parser.add_argument("--png", type=Path, default=Path("report.png"))
    parser.add_argument("--height", type=int, default=2000)
    args = parser.parse_args()

    runs = find_runs(args.results)
    began = time.perf_counter()
    page = html_report(runs, args.out, reference=True)
    print(
        f"report: {args.out} ({len(page) / 1024:,.0f} KiB, {len(runs)} runs) "
        f"in {time.perf_counter() - began:.2f} s"
    )
    outside = re.findall(r"""(?:src|href)=["'](?!data:|#)([^"']+)""", page)
    print(f"references to anything outside the page: {outside or 'none'}")

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("no chromium on this machine: install it (apt-get install -y chromium)")
        return 1
    with tempfile.TemporaryDirectory() as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={args.png.resolve()}",
            f"--window-size=1280,{args.height}",
            args.out.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not args.png.exists():
        print(done.stderr[-2000:], file=sys.stderr)
        return 1
    print(f"screenshot: {args.png} ({args.png.stat().st_size / 1024:,.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
