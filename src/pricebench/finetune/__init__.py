"""Fine-tuning an OpenAI chat model into a pricer: the course's day-5 workflow, made safe.

- `files`: the chat-format training file, checked as OpenAI checks it, with its token estimate.
- `base_models`: which base models can be tuned, their example limits and training prices.
- `jobs`: a job's state on disk, so that a paid job is never lost.
- `pricer`: `OpenAIFineTuned` (fit, resume, from_model) and the `ft:` spec's `fine_tuned_pricer`.
"""

from pricebench.finetune.base_models import (
    DEFAULT_BASE_MODEL,
    DEFAULT_EXAMPLE_TOKEN_LIMIT,
    EXAMPLE_TOKEN_LIMITS,
    TRAINING_PRICES,
    check_base_model,
    training_cost,
)
from pricebench.finetune.files import (
    MAX_FILE_BYTES,
    MESSAGE_KEYS,
    MIN_EXAMPLES,
    ROLES,
    TrainingFileError,
    TrainingFileReport,
    estimate_tokens,
    example_tokens,
    to_jsonl,
    training_example,
    validate_examples,
)
from pricebench.finetune.jobs import FineTuneError, JobState, default_state_dir, describe_event
from pricebench.finetune.pricer import HYPERPARAMETERS, OpenAIFineTuned, fine_tuned_pricer

__all__ = [
    "DEFAULT_BASE_MODEL",
    "DEFAULT_EXAMPLE_TOKEN_LIMIT",
    "EXAMPLE_TOKEN_LIMITS",
    "HYPERPARAMETERS",
    "MAX_FILE_BYTES",
    "MESSAGE_KEYS",
    "MIN_EXAMPLES",
    "ROLES",
    "TRAINING_PRICES",
    "FineTuneError",
    "JobState",
    "OpenAIFineTuned",
    "TrainingFileError",
    "TrainingFileReport",
    "check_base_model",
    "default_state_dir",
    "describe_event",
    "estimate_tokens",
    "example_tokens",
    "fine_tuned_pricer",
    "to_jsonl",
    "training_cost",
    "training_example",
    "validate_examples",
]
