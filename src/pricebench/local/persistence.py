"""Saving and loading fitted local pricers without pickle, in seconds.

A saved pricer is a zip file holding `meta.json` (format, pricebench version, pricer class),
`state.json` (the pricer's object tree: plain values as JSON, vocabularies as key lists) and one
`.npy` file per array (numpy's format, read with `allow_pickle=False`). Objects are taken apart the
way pickle would (`__reduce_ex__`), but nothing is unpickled: on loading, every class or function a
file names is looked up in an allow-list first (pricebench's local pricers, scikit-learn, numpy,
scipy.sparse, a few plain builtin types), and a file that names anything else is refused before
anything in it is rebuilt. A file from another pricebench version is refused from its metadata.

(skops did this before, one JSON node per vocabulary entry: saving `local-best` took minutes.)
"""

from __future__ import annotations

import builtins
import copyreg
import importlib
import json
import types
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from pricebench._version import __version__
from pricebench.errors import PricerError

FORMAT = "pricebench-local-pricer"
FORMAT_VERSION = 2
# Module prefixes whose classes a saved pricer may contain.
TRUSTED_PREFIXES = (
    "pricebench.local.",
    "pricebench.local.baselines.",
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
    "collections.",
)
# Functions a saved pricer may call or hold (classes are checked by TRUSTED_PREFIXES).
TRUSTED_FUNCTION_PREFIXES = ("pricebench.local.", "numpy.random._pickle.")
_BUILTIN_TYPES = frozenset(
    {
        "object",
        "int",
        "float",
        "str",
        "bytes",
        "bool",
        "complex",
        "list",
        "tuple",
        "dict",
        "set",
        "frozenset",
        "slice",
        "range",
    }  # fmt: skip
)
_NEWOBJ = "copyreg.__newobj__"
# What pickle calls to make an object without __init__; typeshed does not list it.
_NEWOBJ_FUNCTION = copyreg.__newobj__  # type: ignore[attr-defined]


def save_pricer(pricer: Any, path: str | Path) -> Path:
    """Write a fitted pricer to `path` (a zip file; `.pbz` is the usual suffix)."""
    path = Path(path)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "pricebench_version": __version__,
        "class": f"{type(pricer).__module__}.{type(pricer).__qualname__}",
        "name": pricer.name,
    }
    encoder = _Encoder()
    state = encoder.encode(pricer)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("meta.json", json.dumps(meta, indent=2))
        archive.writestr("state.json", json.dumps(state))
        for number, array in enumerate(encoder.arrays):
            with archive.open(f"arrays/{number}.npy", "w", force_zip64=True) as file:
                np.lib.format.write_array(file, np.ascontiguousarray(array), allow_pickle=False)
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
    if version != __version__ or meta.get("format_version") != FORMAT_VERSION:
        raise PricerError(
            f"{path}: saved by pricebench {version}, this is pricebench {__version__}; "
            "fit and save the pricer again with this version"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            state = json.loads(archive.read("state.json"))
            refused = sorted(_untrusted(state))
            if refused:
                raise PricerError(f"{path}: refusing to load untrusted types: {', '.join(refused)}")
            decoder = _Decoder(archive)
            pricer = decoder.decode(state)
    except PricerError:
        raise
    except Exception as error:  # a damaged archive fails in many ways; say which file
        raise PricerError(f"{path}: damaged model data ({type(error).__name__}: {error})") from None
    if expected is not None and not isinstance(pricer, expected):
        raise PricerError(f"{path}: holds a {meta.get('class')}, not a {expected.__name__}")
    return pricer


def _name(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _allowed(name: str, is_class: bool) -> bool:
    if name == _NEWOBJ:
        return True
    if name.startswith("builtins."):
        return is_class and name.removeprefix("builtins.") in _BUILTIN_TYPES
    if not is_class and name.rpartition(".")[2].startswith("__pyx_unpickle_"):
        # Cython's rebuilders of its own extension types (numpy's SeedSequence, sklearn's trees)
        return name.startswith(("numpy.", "sklearn."))
    return name.startswith(TRUSTED_PREFIXES if is_class else TRUSTED_FUNCTION_PREFIXES)


def _untrusted(node: Any) -> set[str]:
    """Names in an encoded tree that the allow-list refuses (checked before anything is built)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key in ("class", "function"):
                if key in item and not _allowed(str(item[key]), key == "class"):
                    found.add(str(item[key]))
            stack.extend(item.values())
    return found


class _Encoder:
    """Object tree -> JSON-able tree, arrays kept apart. Shared objects are stored once."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self._memo: dict[int, int] = {}
        self._kept: list[Any] = []  # keeps memoised objects alive, so their ids stay unique
        self._count = 0

    def encode(self, obj: Any) -> Any:
        kind = type(obj)
        if obj is None or kind in (bool, int, str):
            return obj
        if kind is float:
            return obj if np.isfinite(obj) else {"float": repr(obj)}
        if kind in (list, tuple, set, frozenset):
            return {kind.__name__: [self.encode(v) for v in obj]}
        if kind is dict:
            return self._dict(obj)
        if isinstance(obj, np.generic):
            return {"scalar": obj.dtype.str, "value": self.encode(obj.item())}
        if isinstance(obj, np.dtype) and obj.fields is None:
            return {"dtype": obj.str}
        if isinstance(obj, type):
            return {"class": self._reference(obj, True)}
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
            return {"function": self._reference(obj, False)}
        if id(obj) in self._memo:
            return {"memo": self._memo[id(obj)]}
        encoded = self._array(obj) if isinstance(obj, np.ndarray) else self._object(obj)
        self._memo[id(obj)] = self._count
        self._kept.append(obj)
        self._count += 1
        return {"new": self._count - 1, "value": encoded}

    def _dict(self, obj: dict) -> Any:
        if obj and all(type(k) is str for k in obj):
            values = list(obj.values())
            if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
                try:  # a vocabulary: one key list and one array, not a node per word
                    self.arrays.append(np.asarray(values, dtype=np.int64))
                    return {"vocabulary": list(obj), "values": len(self.arrays) - 1}
                except OverflowError:  # big numbers, as in a random generator's state
                    pass
            return {"dict": {k: self.encode(v) for k, v in obj.items()}}
        return {"pairs": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}

    def _array(self, obj: np.ndarray) -> Any:
        if obj.dtype.hasobject:
            return {"objects": [self.encode(v) for v in obj.ravel()], "shape": list(obj.shape)}
        self.arrays.append(obj)
        return {"array": len(self.arrays) - 1}

    def _object(self, obj: Any) -> Any:
        reduced = obj.__reduce_ex__(4)
        if isinstance(reduced, str):  # a module-level singleton
            return {"function": f"{type(obj).__module__}.{reduced}"}
        function, args, *rest = reduced
        rest += [None] * (4 - len(rest))
        state, list_items, dict_items = rest[0], rest[1], rest[2]
        encoded: dict[str, Any] = {}
        if function is _NEWOBJ_FUNCTION:
            encoded["class"] = self._reference(args[0], True)
            encoded["args"] = [self.encode(a) for a in args[1:]]
        elif isinstance(function, type):
            encoded["class"] = self._reference(function, True)
            encoded["args"] = [self.encode(a) for a in args]
        else:
            encoded["function"] = self._reference(function, False)
            encoded["args"] = [self.encode(a) for a in args]
        if state is not None:
            encoded["state"] = self.encode(state)
        if list_items is not None:
            encoded["items"] = [self.encode(v) for v in list_items]
        if dict_items is not None:
            encoded["pairs"] = [[self.encode(k), self.encode(v)] for k, v in dict_items]
        return encoded

    @staticmethod
    def _reference(obj: Any, is_class: bool) -> str:
        name = _name(obj)
        if "<" in name or not _allowed(name, is_class):
            raise PricerError(f"cannot save a pricer holding {name}: not a trusted type")
        return name


class _Decoder:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.memo: dict[int, Any] = {}

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if "new" in node:
            value = self._build(node["value"])
            self.memo[node["new"]] = value
            return value
        if "memo" in node:
            return self.memo[node["memo"]]
        if "float" in node:
            return float(node["float"])
        for kind in (list, tuple, set, frozenset):
            if kind.__name__ in node:
                return kind(self.decode(v) for v in node[kind.__name__])
        if "dict" in node:
            return {k: self.decode(v) for k, v in node["dict"].items()}
        if "vocabulary" in node:
            values = self._read(node["values"]).tolist()
            return dict(zip(node["vocabulary"], values, strict=True))
        if "pairs" in node:
            return {self.decode(k): self.decode(v) for k, v in node["pairs"]}
        if "scalar" in node:
            return np.dtype(node["scalar"]).type(self.decode(node["value"]))
        if "dtype" in node:
            return np.dtype(node["dtype"])
        if "class" in node:
            return _resolve(node["class"])
        if "function" in node:
            return _resolve(node["function"])
        raise ValueError(f"unknown node {sorted(node)}")

    def _build(self, node: dict) -> Any:
        if "array" in node:
            return self._read(node["array"])
        if "objects" in node:
            values = [self.decode(v) for v in node["objects"]]
            array = np.empty(len(values), dtype=object)
            array[:] = values
            return array.reshape(node["shape"])
        if "args" not in node:  # a function, or a module-level singleton
            return _resolve(node["function"])
        args = [self.decode(a) for a in node["args"]]
        if "class" in node:
            cls = _resolve(node["class"])
            obj = cls.__new__(cls, *args) if "state" in node or not args else cls(*args)
        else:
            obj = _resolve(node["function"])(*args)
        if "state" in node:
            state = self.decode(node["state"])
            if hasattr(obj, "__setstate__"):
                obj.__setstate__(state)
            else:
                slots = None
                if isinstance(state, tuple) and len(state) == 2:
                    state, slots = state
                if state:
                    obj.__dict__.update(state)
                for key, value in (slots or {}).items():
                    setattr(obj, key, value)
        for value in node.get("items", []):
            obj.append(self.decode(value))
        for key, value in node.get("pairs", []):
            obj[self.decode(key)] = self.decode(value)
        return obj

    def _read(self, number: int) -> np.ndarray:
        with self.archive.open(f"arrays/{number}.npy") as file:
            return np.lib.format.read_array(file, allow_pickle=False)


def _resolve(name: str) -> Any:
    if name == _NEWOBJ:
        return _NEWOBJ_FUNCTION
    module, _, attribute = name.rpartition(".")
    if module == "builtins":
        return getattr(builtins, attribute)
    target: Any = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target
