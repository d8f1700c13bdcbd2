"""Run the baselines and a pricer of your own on the course data, as in the course's week 6.

python examples/quickstart.py [path/to/course-items.jsonl]

Writes its chart under results/ (as the command line writes its runs), nothing else.
"""

import re
import sys

from pricebench import ConstantPricer, PricebenchError, Tester, load_dataset


def price_from_pack_size(item):
    """A toy pricer: $10 a unit when the title names a pack size, else $30."""
    match = re.search(r"(\d+)[ -]?(?:pack|pcs|pieces|count)", item.title, re.IGNORECASE)
    return 10.0 * int(match.group(1)) if match else 30.0


def main(path: str) -> None:
    data = load_dataset(path)
    for pricer in (ConstantPricer().fit(data.train), price_from_pack_size):
        results = Tester(pricer, data.test, size=250).run()
        print(results.summary())
    results.chart("results/pack-size.png")
    print("chart written to results/pack-size.png")


if __name__ == "__main__":
    try:
        main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/course-items.jsonl")
    except PricebenchError as error:  # no data, a missing extra: one line, no traceback
        sys.exit(f"error: {error}")
