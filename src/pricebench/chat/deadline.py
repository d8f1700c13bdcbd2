"""A whole call bounded by its timeout, body included.

An HTTP client's read timeout is per read: a server that sends its headers and then one byte
every few seconds restarts it with every byte and never times out. The SDK clients' HTTP client
(httpx or httpx2) gets two event hooks: the request's start is noted, and the body stream of a
pricing call's response raises the library's `ReadTimeout` once the call has run longer than its
timeout. The
SDK reports that as its own timeout error, which the chat pricers retry within the item's
deadline, as they do any timeout.
"""

from __future__ import annotations

import functools
import importlib
import time
import weakref
from collections.abc import Iterator
from typing import Any

# The calls that price an item (OpenAI's chat completions and responses, Anthropic's messages);
# batch jobs and files go to other paths and are left to the read timeout.
PRICING_PATHS = ("/chat/completions", "/responses", "/messages")
_MARK = "_pricebench_call_deadline"  # on hooks already added, so that they are added once


def bound_calls(sdk_client: Any) -> None:
    """Add the hooks to the HTTP client inside an openai or anthropic SDK client (`_client`, the
    attribute both SDKs keep it in); a client without one is left as it is."""
    http: Any = getattr(sdk_client, "_client", None)
    hooks = getattr(http, "event_hooks", None)
    library = _library(http)
    if not isinstance(hooks, dict) or library is None:
        return
    if any(getattr(hook, _MARK, False) for hook in hooks.get("response", [])):
        return
    started: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def on_request(request: Any) -> None:
        started[request] = time.monotonic()

    def on_response(response: Any) -> None:
        request = response.request
        limit = (request.extensions.get("timeout") or {}).get("read")
        if limit is None or not request.url.path.endswith(PRICING_PATHS):
            return  # no timeout asked for, or a batch or file transfer, which may take longer
        deadline = started.get(request, time.monotonic()) + limit
        response.stream = _bounded(library)(response.stream, deadline, limit)

    setattr(on_response, _MARK, True)
    http.event_hooks = {
        "request": [*hooks.get("request", []), on_request],
        "response": [*hooks.get("response", []), on_response],
    }


def _library(http: Any) -> Any:
    """The httpx-like library `http` is a client of (httpx, or httpx2 for openai 3 and
    anthropic 2), or None."""
    for cls in type(http).__mro__:
        root = cls.__module__.split(".")[0]
        if cls.__name__ == "Client" and root in ("httpx", "httpx2"):
            return importlib.import_module(root)
    return None


@functools.cache
def _bounded(library: Any) -> Any:
    """A stream class of `library` (its clients only read a `SyncByteStream`) that ends the call
    with `ReadTimeout` past its deadline."""

    class Bounded(library.SyncByteStream):
        def __init__(self, stream: Any, deadline: float, limit: float) -> None:
            self.stream = stream
            self.deadline = deadline
            self.limit = limit

        def __iter__(self) -> Iterator[bytes]:
            for chunk in self.stream:
                if time.monotonic() > self.deadline:
                    raise library.ReadTimeout(
                        f"the response was still arriving after {self.limit:g} s (a server "
                        "sending it a little at a time)"
                    )
                yield chunk

        def close(self) -> None:
            self.stream.close()

    return Bounded
