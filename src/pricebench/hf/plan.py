"""How much a LoRA fine-tune will cost before it starts: tokens, steps and wall time.

Time is estimated from floating-point work, about 6 x parameters x tokens for a forward and a
backward pass with gradient checkpointing recomputing the forward (LoRA's own weights are too
small to count), divided by an assumed sustained throughput per device kind. The throughputs are
rough, conservative figures, not measurements of this machine: treat the estimate as right to
within a factor of a few, and enough to tell minutes from days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pricebench.chat.prompts import PromptTemplate
from pricebench.errors import PricerError
from pricebench.hf.text import training_pair
from pricebench.items import Item

# Sustained FLOP/s assumed for training: a 24 GB CUDA card (RTX 4090, A10G, L4) running a 4-bit
# model, an Apple GPU, a few CPU cores.
ASSUMED_FLOPS = {"cuda": 4e13, "mps": 3e12, "cpu": 5e10}
# Over this many parameters, training on CPU is refused unless explicitly allowed.
CPU_MAX_PARAMS = 200_000_000


@dataclass(frozen=True)
class TrainingPlan:
    """What a fine-tune will do: examples, tokens, optimiser steps and estimated time."""

    examples: int
    tokens_per_epoch: int
    longest_example: int
    truncated: int  # examples whose item text was cut to fit max_length
    epochs: float
    steps: int
    parameters: int
    device: str

    @property
    def tokens(self) -> int:
        return int(self.tokens_per_epoch * self.epochs)

    @property
    def flops(self) -> float:
        return 6.0 * self.parameters * self.tokens

    @property
    def seconds(self) -> float:
        return self.flops / ASSUMED_FLOPS[self.device.split(":")[0]]

    def summary(self) -> str:
        return (
            f"{self.examples:,} examples, {self.tokens_per_epoch:,} tokens an epoch "
            f"(longest {self.longest_example}, {self.truncated} texts cut to fit), {self.epochs:g} "
            f"epoch(s), {self.steps:,} steps; {self.parameters / 1e6:,.1f}M parameters on "
            f"{self.device}: about {_duration(self.seconds)} (estimate)"
        )


def plan_training(
    items: Sequence[Item],
    tokenizer: Any,
    prompt: PromptTemplate,
    *,
    parameters: int,
    device: str,
    epochs: float = 1,
    batch_size: int = 4,
    gradient_accumulation_steps: int = 1,
    max_length: int | None = 182,
    max_steps: int | None = None,
    chat: bool | None = None,
) -> TrainingPlan:
    """Count the training tokens of `items` as the trainer will see them."""
    lengths = []
    truncated = 0  # examples whose item text is cut to fit max_length
    for item in items:
        pair = training_pair(item, prompt, tokenizer, chat, max_length)
        text = pair["prompt"] + pair["completion"] + (tokenizer.eos_token or "")
        lengths.append(len(tokenizer(text)["input_ids"]))
        if max_length:
            whole = training_pair(item, prompt, tokenizer, chat, None)["prompt"]
            truncated += whole != pair["prompt"]
    if max_length:
        lengths = [min(n, max_length) for n in lengths]
    per_step = batch_size * gradient_accumulation_steps
    steps_per_epoch = max(math.ceil(len(items) / per_step), 1)
    steps = steps_per_epoch * epochs
    if max_steps:  # the trainer stops at max_steps, whatever the epochs
        steps = max_steps
        epochs = max_steps / steps_per_epoch
    return TrainingPlan(
        examples=len(items),
        tokens_per_epoch=sum(lengths),
        longest_example=max(lengths, default=0),
        truncated=truncated,
        epochs=epochs,
        steps=math.ceil(steps),
        parameters=parameters,
        device=device,
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def count_parameters(model: str) -> int:
    """Parameters of `model` from its config alone, without loading any weights."""
    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as error:
        raise PricerError(f"cannot read the config of model {model!r}: {error}") from None
    with init_empty_weights():
        empty = AutoModelForCausalLM.from_config(config)
    empty.tie_weights()  # else a tied output layer counts twice (SmolLM2: 163M, not 135M)
    return empty.num_parameters()
