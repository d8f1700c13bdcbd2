"""The Amazon Reviews 2023 data pipeline: download, curate at scale, balance, split, save.

    from pricebench.pipeline import build_dataset, BalanceOptions
    manifest = build_dataset("data/appliances", categories=["Appliances"], train=20_000, test=1_000,
                             balance=BalanceOptions("slots"))

Modules: fetch (download), curate (the rules), llama (the 2024 course's tokenizer), stream
(parallel curation of a file), balance, split, store (save), manifest, build (all of it), hub (the
course's published datasets).
"""

from pricebench.pipeline.balance import balance_slots, balance_weighted, dedupe
from pricebench.pipeline.build import BalanceOptions, build_dataset
from pricebench.pipeline.curate import CurationConfig, curate_record
from pricebench.pipeline.fetch import Download, FetchError, fetch, hub_url
from pricebench.pipeline.manifest import Manifest, read_manifest
from pricebench.pipeline.split import split_items
from pricebench.pipeline.store import save_items
from pricebench.pipeline.stream import CurationReport, curate_file

__all__ = [
    "BalanceOptions",
    "CurationConfig",
    "CurationReport",
    "Download",
    "FetchError",
    "Manifest",
    "balance_slots",
    "balance_weighted",
    "build_dataset",
    "curate_file",
    "curate_record",
    "dedupe",
    "fetch",
    "hub_url",
    "read_manifest",
    "save_items",
    "split_items",
]
