"""Run the baselines and a pricer of your own on the course data, as in the course's week 6.

python examples/quickstart.py [path/to/course-items.jsonl]
"""

import re
import sys

from pricebench import ConstantPricer, Tester, load_dataset

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/course-items.jsonl"
data = load_dataset(path)


def price_from_pack_size(item):
    """A toy pricer: $10 a unit when the title names a pack size, else $30."""
    match = re.search(r"(\d+)[ -]?(?:pack|pcs|pieces|count)", item.title, re.IGNORECASE)
    return 10.0 * int(match.group(1)) if match else 30.0


for pricer in (ConstantPricer().fit(data.train), price_from_pack_size):
    results = Tester(pricer, data.test, size=250).run()
    print(results.summary())
results.chart("pack-size.png")
print("chart written to pack-size.png")
