"""What the benchmarks' stand-in OpenAI servers (127.0.0.1, no key, no spend) answer with.

Imported by the scripts beside it (`python benchmarks/cost_check.py` puts this folder on the
path): one shape of chat completion, as OpenAI's API returns it, and one way to send it.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any


def chat_completion(model: str, usage: dict[str, Any], content: str = "Price is $42.00") -> dict:
    """A chat completion body: one assistant choice that stopped, with `usage` as given."""
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }


def send_json(handler: BaseHTTPRequestHandler, body: dict) -> None:
    """Answer 200 with `body` as JSON and its length (keep-alive clients need it)."""
    data = json.dumps(body).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
