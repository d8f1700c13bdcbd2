"""Time to save and load fitted local pricers (fitted on the course's train split).

python benchmarks/save_local.py [SPEC...]   (default: tfidf-ridge local-best)
"""

import os
import sys
import tempfile
import time
from pathlib import Path

from pricebench import load_dataset, make_pricer

specs = sys.argv[1:] or ["tfidf-ridge", "local-best"]
data = load_dataset("../shared/data/course-items.jsonl")
with tempfile.TemporaryDirectory() as folder:
    for spec in specs:
        pricer = make_pricer(spec)
        began = time.perf_counter()
        pricer.fit(data.train)
        fit = time.perf_counter() - began
        began = time.perf_counter()
        path = pricer.save(Path(folder) / f"{spec}.pbz")
        save = time.perf_counter() - began
        began = time.perf_counter()
        loaded = type(pricer).load(path)
        load = time.perf_counter() - began
        same = loaded.predict_batch(data.test) == pricer.predict_batch(data.test)
        print(
            f"{spec}: fit {fit:.1f} s, save {save:.2f} s, load {load:.2f} s, "
            f"{os.path.getsize(path) / 1e6:.1f} MB, identical predictions: {same}"
        )
