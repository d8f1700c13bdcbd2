"""Open-weights pricers: a local Hugging Face causal language model, base or LoRA fine-tuned.

Needs the extra `hf` (`pip install 'pricebench[hf]'`: torch, transformers, peft, trl, accelerate);
4-bit and 8-bit quantisation also need bitsandbytes and a CUDA GPU.

- `HFPricer` (spec `hf:MODEL_ID_OR_PATH`, `hf:BASE+ADAPTER`): prices an item by reading the
  model's next tokens after the prompt's prefill, greedily or as the top-K weighted estimate.
- `LoRAFineTuned`: supervised fine-tuning with LoRA (QLoRA with 4-bit) through trl's SFT trainer;
  once fitted it prices through an `HFPricer` on base + adapter.
- `plan_training`: training tokens and an estimate of wall time, before anything is trained.
"""

from __future__ import annotations

from pricebench.errors import PricerError

try:  # one clear message instead of an ImportError deep inside a submodule
    import torch  # noqa: F401
    import transformers  # noqa: F401
except ImportError:
    raise PricerError(
        "open-weights pricers need torch and transformers: pip install 'pricebench[hf]'"
    ) from None

from pricebench.hf.decoding import (  # noqa: E402
    Candidate,
    NumberVocabulary,
    Search,
    top_prices,
    weighted_price,
)
from pricebench.hf.lora import COURSE_LORA, LoRAFineTuned  # noqa: E402
from pricebench.hf.plan import TrainingPlan, plan_training  # noqa: E402
from pricebench.hf.pricer import HFPricer, hf_pricer  # noqa: E402
from pricebench.hf.text import COURSE_TRAINING_PROMPT, prompt_text, training_pair  # noqa: E402

__all__ = [
    "HFPricer",
    "hf_pricer",
    "LoRAFineTuned",
    "COURSE_LORA",
    "TrainingPlan",
    "plan_training",
    "prompt_text",
    "training_pair",
    "COURSE_TRAINING_PROMPT",
    "Candidate",
    "NumberVocabulary",
    "Search",
    "top_prices",
    "weighted_price",
]
