"""Saving and loading fitted local pricers without pickle.

A saved pricer is a zip file holding `meta.json` (format, pricebench version, pricer class) and
`model.skops` (the fitted pricer, written by skops.io). Loading reads the metadata first, so a
file from another pricebench version is refused before anything in it is rebuilt, and then lets
skops rebuild only types from an explicit allow-list (pricebench's local pricers, scikit-learn,
numpy, scipy): a file that names any other type is refused rather than executed.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from pricebench._version import __version__
from pricebench.errors import PricerError

FORMAT = "pricebench-local-pricer"
# Module prefixes whose types a saved pricer may contain.
TRUSTED_PREFIXES = (
    "pricebench.local.",
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
    "builtins.",
    "collections.",
)


def _skops() -> Any:
    """skops.io, imported only when needed: it is slow to import and an optional dependency."""
    try:
        import skops.io as sio
    except ImportError:
        raise PricerError(
            "saving and loading local pricers needs skops: pip install 'pricebench[local]'"
        ) from None
    return sio


def save_pricer(pricer: Any, path: str | Path) -> Path:
    """Write a fitted pricer to `path` (a zip file; `.pbz` is the usual suffix)."""
    path = Path(path)
    meta = {
        "format": FORMAT,
        "pricebench_version": __version__,
        "class": f"{type(pricer).__module__}.{type(pricer).__qualname__}",
        "name": pricer.name,
    }
    payload = _skops().dumps(pricer)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.json", json.dumps(meta, indent=2))
        archive.writestr("model.skops", payload)
    return path


def read_meta(path: str | Path) -> dict[str, Any]:
    """The metadata of a saved pricer, or PricerError naming the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise PricerError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read("meta.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError):
        raise PricerError(f"{path}: not a saved pricebench pricer") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PricerError(f"{path}: not a saved pricebench pricer")
    return meta


def load_pricer(path: str | Path, expected: type | None = None) -> Any:
    """The pricer saved at `path`. With `expected`, it must be an instance of that class."""
    path = Path(path)
    meta = read_meta(path)
    version = meta.get("pricebench_version")
    if version != __version__:
        raise PricerError(
            f"{path}: saved by pricebench {version}, this is pricebench {__version__}; "
            "fit and save the pricer again with this version"
        )
    with zipfile.ZipFile(path) as archive:
        payload = archive.read("model.skops")
    sio = _skops()
    try:
        found = sio.get_untrusted_types(data=payload)
    except Exception as error:  # skops raises several types on a damaged payload
        raise PricerError(f"{path}: damaged model data ({error})") from None
    refused = sorted(t for t in found if not t.startswith(TRUSTED_PREFIXES))
    if refused:
        raise PricerError(f"{path}: refusing to load untrusted types: {', '.join(refused)}")
    try:
        pricer = sio.loads(payload, trusted=found)
    except Exception as error:
        raise PricerError(f"{path}: damaged model data ({error})") from None
    if expected is not None and not isinstance(pricer, expected):
        raise PricerError(f"{path}: holds a {meta.get('class')}, not a {expected.__name__}")
    return pricer
