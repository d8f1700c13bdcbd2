"""Keeping secrets out of everything pricebench writes or prints.

Keys are read from the environment and never stored on purpose, but they can still reach text that
pricebench did not write itself: an error body that echoes the key, a base URL with `user:pass@`
or `?api-key=`. `redact` and `redact_url` take them out before such text is stored or shown.

Credentials in a URL travel in other forms too: the HTTP client sends `user:pass@` as an
`Authorization: Basic <base64 of user:pass>` header, which a server may echo in an error. So every
URL credential `redact_url` sees, and every secret given to `remember_secret` (the pricers give
their keys), is remembered for the life of the process, and `redact` replaces it in every form:
as written, percent-decoded, and base64-encoded (with and without the user name).
"""

from __future__ import annotations

import base64
import re
import threading
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"

# Shapes of provider keys (OpenAI "sk-...", "sk-proj-...", Anthropic "sk-ant-...", Groq "gsk_...",
# Hugging Face "hf_...", Google "AIza...") and "Bearer <token>" headers quoted in error text.
_KEY_LIKE = re.compile(
    r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{8,}|gsk_[A-Za-z0-9]{8,}|hf_[A-Za-z0-9]{8,}"
    r"|AIza[0-9A-Za-z_\-]{20,}|xai-[A-Za-z0-9]{8,})"
    r"|(?<=Bearer )[A-Za-z0-9._\-]{8,}"
    r"|(?<=Basic )[A-Za-z0-9+/]{6,}={0,2}",
)
# `key=value` pairs whose name says the value is a secret, in URLs and in free text.
_SECRET_NAMES = re.compile(r"(?:api[-_]?key|key|token|secret|password|passwd|auth|sig)$", re.I)
_SECRET_PAIR = re.compile(
    r"(?P<name>\b[\w\-]*(?:api[-_]?key|token|secret|password|passwd)\b)(?P<sep>\s*[=:]\s*)"
    r"(?P<quote>[\"']?)(?P<value>[^\s\"'&,;]{4,})",
    re.I,
)
_URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s\"'<>]+", re.I)


# Secrets seen so far, each in every form it may take in text; the longest are replaced first.
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_SHORTEST_SECRET = 8  # shorter values would redact ordinary words ("pass" in "password")


def remember_secret(secret: str | None, user: str | None = None) -> None:
    """Redact `secret` from now on, as written, percent-decoded and in base64 (also as HTTP Basic
    auth encodes it with `user`)."""
    if not secret:
        return
    forms = set()
    for value in {secret, unquote(secret)}:
        forms.add(value)
        forms.add(_b64(value))
        if user is not None:
            for name in {user, unquote(user)}:
                forms.add(_b64(f"{name}:{value}"))
                forms.add(_b64(f"{name}:{value}").rstrip("="))
    with _SECRETS_LOCK:
        _SECRETS.update(form for form in forms if len(form) >= _SHORTEST_SECRET)


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def _remember_userinfo(netloc: str) -> None:
    userinfo = netloc.rpartition("@")[0]
    user, colon, password = userinfo.partition(":")
    if colon:
        remember_secret(password, user)
    else:
        remember_secret(user)  # "https://TOKEN@host": the token alone


def _forget_secrets() -> None:
    """For tests: start again with no remembered secret."""
    with _SECRETS_LOCK:
        _SECRETS.clear()


def redact(text: str) -> str:
    """`text` with key-like strings, secret `name=value` pairs, URL credentials and every
    remembered secret (in any of its forms) replaced."""
    if not text:
        return text
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
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
        _remember_userinfo(netloc)
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
