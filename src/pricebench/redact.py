"""Keeping secrets out of everything pricebench writes or prints.

Keys are read from the environment and never stored on purpose, but they can still reach text that
pricebench did not write itself: an error body that echoes the key, a base URL with `user:pass@`
or `?api-key=`. `redact` and `redact_url` take them out before such text is stored or shown.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"

# Shapes of provider keys (OpenAI "sk-...", "sk-proj-...", Anthropic "sk-ant-...", Groq "gsk_...",
# Hugging Face "hf_...", Google "AIza...") and "Bearer <token>" headers quoted in error text.
_KEY_LIKE = re.compile(
    r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{8,}|gsk_[A-Za-z0-9]{8,}|hf_[A-Za-z0-9]{8,}"
    r"|AIza[0-9A-Za-z_\-]{20,}|xai-[A-Za-z0-9]{8,})"
    r"|(?<=Bearer )[A-Za-z0-9._\-]{8,}",
)
# `key=value` pairs whose name says the value is a secret, in URLs and in free text.
_SECRET_NAMES = re.compile(r"(?:api[-_]?key|key|token|secret|password|passwd|auth|sig)$", re.I)
_SECRET_PAIR = re.compile(
    r"(?P<name>\b[\w\-]*(?:api[-_]?key|token|secret|password|passwd)\b)(?P<sep>\s*[=:]\s*)"
    r"(?P<quote>[\"']?)(?P<value>[^\s\"'&,;]{4,})",
    re.I,
)
_URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s\"'<>]+", re.I)


def redact(text: str) -> str:
    """`text` with key-like strings, secret `name=value` pairs and URL credentials replaced."""
    if not text:
        return text
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _SECRET_PAIR.sub(
        lambda m: f"{m.group('name')}{m.group('sep')}{m.group('quote')}{REDACTED}", text
    )
    return _KEY_LIKE.sub(REDACTED, text)


def redact_url(url: str) -> str:
    """`url` without `user:pass@` and with secret-looking query values replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _KEY_LIKE.sub(REDACTED, url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_NAMES.search(name) for name, _ in pairs):
            cleaned = [
                (name, REDACTED if _SECRET_NAMES.search(name) else value) for name, value in pairs
            ]
            query = urlencode(cleaned, safe="[]")
    cleaned_url = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return _KEY_LIKE.sub(REDACTED, cleaned_url)


def redact_value(value: Any) -> Any:
    """`value` (text, or the lists and dicts of it a run header holds) with strings redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {key: redact_value(v) for key, v in value.items()}
    return value
