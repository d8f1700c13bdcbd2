"""What each OpenAI base model allows a fine-tune: whether it can be tuned, how long a training
example may be, and what training costs."""

from __future__ import annotations

from pricebench.chat.models import default_fine_tune_base, fine_tunable, resolve
from pricebench.errors import PricerError

# The newest fine-tunable snapshot in the model catalogue that has not been shut down.
DEFAULT_BASE_MODEL = default_fine_tune_base()
# Longest training example (tokens) per base model; models not listed get the smallest one.
EXAMPLE_TOKEN_LIMITS = {
    "gpt-4o-mini-2024-07-18": 65_536,
    "gpt-4o-2024-08-06": 65_536,
    "gpt-4.1-2025-04-14": 65_536,
    "gpt-4.1-mini-2025-04-14": 65_536,
    "gpt-4.1-nano-2025-04-14": 65_536,
}
DEFAULT_EXAMPLE_TOKEN_LIMIT = 16_385
# US dollars per million training tokens (tokens in the file × epochs), from OpenAI's price list.
TRAINING_PRICES = {
    "gpt-4o-mini-2024-07-18": 3.00,
    "gpt-4o-2024-08-06": 25.00,
    "gpt-4.1-2025-04-14": 25.00,
    "gpt-4.1-mini-2025-04-14": 5.00,
    "gpt-4.1-nano-2025-04-14": 1.50,
}


def example_token_limit(base_model: str) -> int:
    return EXAMPLE_TOKEN_LIMITS.get(base_model, DEFAULT_EXAMPLE_TOKEN_LIMIT)


def training_cost(base_model: str, tokens: int) -> float | None:
    """US dollars to train on `tokens` (file tokens × epochs); None when the price is unknown."""
    price = TRAINING_PRICES.get(base_model)
    return None if price is None else tokens * price / 1e6


def check_base_model(model: str) -> None:
    """Refuse a base model OpenAI does not fine-tune, or one past its shutdown date."""
    info = resolve(model, "openai")
    if not info.family.fine_tunable or model.startswith("ft:"):
        names = ", ".join(f.fine_tune_snapshot or f.pattern for f in fine_tunable())
        raise PricerError(f"{model} cannot be fine-tuned; fine-tunable snapshots: {names}")
    info.check_available()
