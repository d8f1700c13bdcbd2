"""Pricers that ask a hosted chat model (OpenAI, Anthropic, OpenAI-compatible servers).

Import the concrete modules (`pricebench.providers.openai`, `.anthropic`) only when needed: each
imports its provider's SDK.
"""

from pricebench.providers.base import ChatPricer

__all__ = ["ChatPricer"]
