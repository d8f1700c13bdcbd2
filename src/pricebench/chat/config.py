"""`ChatConfig`: one object for everything a chat pricer is told, in two parts.

What the pricer *asks* (the output budget, sampling, reasoning effort, structured output) changes
the answers: a run may not continue under other values. How it *runs* (retries, timeout, budget)
does not: those may change when a run resumes (`ChatConfig.RESUMABLE`). Like inspect_ai's
`GenerateConfig`, a field left as None means "the model's own default", which the model catalogue
(`pricebench.chat.models`) fills in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from pricebench.errors import PricerError


@dataclass(frozen=True)
class ChatConfig:
    """Settings of one chat pricer. None means the catalogue's choice for the model."""

    # What the pricer asks: part of every request, so part of every cache key.
    max_tokens: int | None = None
    temperature: float | None = None
    seed: int | None = None
    reasoning_effort: str | None = None
    structured: bool = False
    # How it runs.
    max_retries: int = 5
    timeout: float = 60.0  # seconds one attempt may wait for an answer
    # Seconds one item may take across all its attempts and waits; None: DEADLINE_FACTOR x timeout.
    deadline: float | None = None
    budget: float | None = None  # US dollars; reaching it stops the run cleanly

    RESUMABLE: ClassVar[frozenset[str]] = frozenset(
        {"max_retries", "timeout", "deadline", "budget"}
    )
    DEADLINE_FACTOR: ClassVar[float] = 3.0

    def __post_init__(self) -> None:
        if self.max_tokens is not None and self.max_tokens < 1:
            raise PricerError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.budget is not None and self.budget < 0:
            raise PricerError(f"budget must not be negative, got {self.budget}")
        if self.max_retries < 0:
            raise PricerError(f"max_retries must not be negative, got {self.max_retries}")
        if self.timeout <= 0:
            raise PricerError(f"timeout must be positive, got {self.timeout}")
        if self.deadline is not None and self.deadline <= 0:
            raise PricerError(f"deadline must be positive, got {self.deadline}")

    @property
    def item_deadline(self) -> float:
        """Seconds one item may take across its retries: the given deadline, else a few timeouts."""
        return self.deadline if self.deadline is not None else self.DEADLINE_FACTOR * self.timeout

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
