"""How parse_price scales with the reply's length (issue 12: a 1.28 MB reply took 58 s).

Parses replies of numbers of growing length and prints the time of each and its ratio to the
previous one: a linear parser's time grows about as much as its input (10x), a quadratic one's
about 100x.

    python benchmarks/parse_speed.py
"""

from __future__ import annotations

import time

from pricebench.chat.parse import parse_price


def main() -> None:
    previous = None
    for repeats in (2_000, 20_000, 200_000):
        reply = "1 2 3 " * repeats
        began = time.perf_counter()
        parse_price(reply)
        seconds = time.perf_counter() - began
        growth = f"{seconds / previous:5.1f}x" if previous else "    -"
        print(f"{len(reply):>9,} characters: {seconds * 1000:8.1f} ms  ({growth} for 10x the text)")
        previous = seconds


if __name__ == "__main__":
    main()
