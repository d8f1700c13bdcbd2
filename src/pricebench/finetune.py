"""Fine-tuning an OpenAI chat model into a pricer: the course's day-5 workflow, made safe.

`OpenAIFineTuned(...).fit(train, validation)` builds the chat-format training file from the same
`PromptTemplate` the pricer predicts with, checks it against OpenAI's documented format and limits
before anything is uploaded, uploads it (`purpose="fine-tune"`), creates the job and follows it to
the end. A paid job is never lost: its id is written to `state_dir` as soon as it exists, fitting
again with the same data and settings re-attaches to it instead of paying twice, and
`OpenAIFineTuned.resume(job_id)` re-attaches after a crash. Once trained it prices items through an
ordinary `OpenAIPricer` (cache, retries, cost accounting) on the fine-tuned model.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from rich.console import Console

from pricebench.errors import DataError, PricebenchError, PricerError, missing_extra
from pricebench.items import Item
from pricebench.models import default_fine_tune_base, fine_tunable, resolve
from pricebench.prompts import COURSE_PROMPT, PromptTemplate

if TYPE_CHECKING:
    from pricebench.pricer import Estimate

# The newest fine-tunable snapshot in the model catalogue that has not been shut down.
DEFAULT_BASE_MODEL = default_fine_tune_base()
HYPERPARAMETERS = frozenset({"n_epochs", "batch_size", "learning_rate_multiplier"})
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})

# OpenAI's documented limits for supervised fine-tuning of chat models.
MIN_EXAMPLES = 10
MAX_FILE_BYTES = 512 * 1024 * 1024
ROLES = frozenset({"system", "user", "assistant"})
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight"})
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


class FineTuneError(PricebenchError):
    """A fine-tuning job that failed or was cancelled; the message carries OpenAI's own words."""

    def __init__(self, message: str, job_id: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.code = code


class TrainingFileError(DataError):
    """A training or validation file that OpenAI would reject: names the line and the field."""


# --- the training file ------------------------------------------------------------------------


def training_example(item: Item, prompt: PromptTemplate) -> dict[str, Any]:
    """One line of the chat-format file: the prompt's messages and the price as the answer.

    The prefill is not sent as its own message: the assistant's answer starts with it
    ("Price is $45.99"), so the model learns to continue exactly what it will be given.
    """
    messages = prompt.messages(item, prefill=False)
    messages.append({"role": "assistant", "content": prompt.completion(item)})
    return {"messages": messages}


def to_jsonl(examples: Sequence[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples).encode("utf-8")


def estimate_tokens(text: str) -> int:
    """Tokens in `text`, estimated as OpenAI's rule of thumb (4 characters a token).

    An estimate on purpose: an exact count needs the tokenizer's vocabulary file, which is
    downloaded on first use and so unavailable offline.
    """
    return math.ceil(len(text) / 4)


def example_tokens(example: dict[str, Any]) -> int:
    # Each message costs a few tokens of framing on top of its content, as in OpenAI's cookbook.
    return 3 + sum(4 + estimate_tokens(m["content"]) for m in example["messages"])


@dataclass(frozen=True)
class TrainingFileReport:
    """What a training file holds, and what training on it should cost."""

    n_examples: int
    n_bytes: int
    tokens: int  # estimated, all examples once
    max_example_tokens: int

    def cost(self, base_model: str, epochs: int) -> float | None:
        """Estimated training cost in US dollars; None when the base model's price is unknown."""
        price = TRAINING_PRICES.get(base_model)
        return None if price is None else self.tokens * epochs * price / 1e6


def validate_examples(
    examples: Sequence[Any],
    *,
    base_model: str = DEFAULT_BASE_MODEL,
    source: str = "training file",
    min_examples: int = MIN_EXAMPLES,
) -> TrainingFileReport:
    """Check chat-format examples as OpenAI will, and raise `TrainingFileError` on the first fault.

    Checked: each line is an object with a `messages` list; roles are system / user / assistant;
    contents are non-empty strings; every example ends with an assistant message; no example is
    longer than the base model allows; at least `min_examples` examples; file under 512 MB.
    """
    limit = EXAMPLE_TOKEN_LIMITS.get(base_model, DEFAULT_EXAMPLE_TOKEN_LIMIT)
    if len(examples) < min_examples:
        raise TrainingFileError(
            f"{source}: {len(examples)} examples; OpenAI needs at least {min_examples}"
        )
    tokens, longest = 0, 0
    for line, example in enumerate(examples, start=1):
        where = f"{source}, line {line}"
        messages = example.get("messages") if isinstance(example, dict) else None
        if not isinstance(messages, list) or not messages:
            raise TrainingFileError(f"{where}: needs a non-empty 'messages' list")
        for number, message in enumerate(messages):
            field = f"{where}: messages[{number}]"
            if not isinstance(message, dict):
                raise TrainingFileError(f"{field} is not an object")
            unknown = set(message) - MESSAGE_KEYS
            if unknown:
                raise TrainingFileError(f"{field} has unknown key(s) {sorted(unknown)}")
            if message.get("role") not in ROLES:
                raise TrainingFileError(
                    f"{field}.role is {message.get('role')!r}, not one of {sorted(ROLES)}"
                )
            content = message.get("content")
            if not isinstance(content, str) or not content.strip():
                raise TrainingFileError(f"{field}.content is empty")
        if messages[-1]["role"] != "assistant":
            raise TrainingFileError(f"{where}: the last message must be the assistant's answer")
        count = example_tokens(example)
        if count > limit:
            raise TrainingFileError(
                f"{where}: about {count:,} tokens; {base_model} trains on at most {limit:,}"
            )
        tokens += count
        longest = max(longest, count)
    size = len(to_jsonl(examples))
    if size > MAX_FILE_BYTES:
        raise TrainingFileError(f"{source}: {size:,} bytes; OpenAI accepts at most 512 MB")
    return TrainingFileReport(len(examples), size, tokens, longest)


# --- the job's state on disk --------------------------------------------------------------------


class JobState(BaseModel):
    """What is needed to find a job again, written to disk before the job is first polled."""

    key: str  # hash of the request: data, base model and settings
    base_model: str
    job_id: str | None = None
    status: str = "uploading"
    training_file: str | None = None
    validation_file: str | None = None
    fine_tuned_model: str | None = None
    hyperparameters: dict[str, Any] = {}
    suffix: str | None = None
    seed: int | None = None
    prompt: dict[str, Any] | None = None
    training_tokens: int | None = None  # estimated before upload
    trained_tokens: int | None = None  # billed, as the finished job reports it
    error: str | None = None

    def save(self, state_dir: Path) -> Path:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / f"{self.key}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, path)  # a crash mid-write never leaves a half state file
        return path

    @classmethod
    def load_all(cls, state_dir: Path) -> list[JobState]:
        states = []
        for path in sorted(state_dir.glob("*.json")) if state_dir.is_dir() else []:
            try:
                states.append(cls.model_validate_json(path.read_text(encoding="utf-8")))
            except ValidationError as error:
                raise PricerError(f"{path}: not a fine-tuning job state ({error})") from None
        return states

    @classmethod
    def find(
        cls, state_dir: Path, *, key: str | None = None, job_id: str | None = None
    ) -> JobState | None:
        for state in cls.load_all(state_dir):
            if (key is not None and state.key == key) or (job_id and state.job_id == job_id):
                return state
        return None


def default_state_dir() -> Path:
    """Where job states live: $PRICEBENCH_FINETUNE_DIR, or ~/.pricebench/finetune."""
    configured = os.environ.get("PRICEBENCH_FINETUNE_DIR")
    return Path(configured) if configured else Path.home() / ".pricebench" / "finetune"


# --- the pricer ------------------------------------------------------------------------------


class OpenAIFineTuned:
    """An OpenAI model fine-tuned on training items, then used as a pricer.

    Parameters are stored as given (scikit-learn style); `fit` sets `job_id_`,
    `fine_tuned_model_`, `trained_tokens_`, `training_cost_` and `pricer_`, the `OpenAIPricer`
    that answers `predict` / `estimate`. `pricer_options` (max_tokens, cache, ...) go to it.
    """

    def __init__(
        self,
        base_model: str = DEFAULT_BASE_MODEL,
        hyperparameters: dict[str, Any] | None = None,
        suffix: str | None = "pricer",
        seed: int | None = 42,
        prompt: PromptTemplate | None = None,
        *,
        client: Any = None,
        state_dir: str | Path | None = None,
        wandb_project: str | None = None,
        poll_interval: float = 30.0,
        verbose: bool = True,
        **pricer_options: Any,
    ) -> None:
        self.base_model = base_model
        self.hyperparameters = hyperparameters
        self.suffix = suffix
        self.seed = seed
        self.prompt = prompt
        self.client = client
        self.state_dir = state_dir
        self.wandb_project = wandb_project
        self.poll_interval = poll_interval
        self.verbose = verbose
        self.pricer_options = pricer_options
        unknown = set(hyperparameters or {}) - HYPERPARAMETERS
        if unknown:
            raise PricerError(
                f"OpenAIFineTuned: unknown hyperparameter(s) {sorted(unknown)}; "
                f"known: {sorted(HYPERPARAMETERS)}"
            )
        self._console = Console(stderr=True, highlight=False, quiet=not verbose)

    # The pricer --------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        pricer = self.__dict__.get("pricer_")
        return pricer.name if pricer is not None else f"finetune:{self.base_model}"

    def get_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "base_model": self.base_model,
            "hyperparameters": self.hyperparameters or {},
            "suffix": self.suffix,
            "seed": self.seed,
            "prompt": _prompt_dict(self._prompt()),
        }
        if "fine_tuned_model_" in self.__dict__:
            params["model"] = self.fine_tuned_model_
            params["job_id"] = self.job_id_
        return params

    def estimate(self, item: Item) -> Estimate:
        return self._trained().estimate(item)

    def predict(self, item: Item) -> float:
        return self._trained().predict(item)

    def __getattr__(self, name: str) -> Any:
        # After training, batch mode and friends reach the OpenAIPricer's request/send/read.
        pricer = self.__dict__.get("pricer_")
        if pricer is not None and not name.startswith("_") and not name.endswith("_"):
            return getattr(pricer, name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def _trained(self) -> Any:
        pricer = self.__dict__.get("pricer_")
        if pricer is None:
            raise PricerError(
                "OpenAIFineTuned: call fit(train), resume(job_id) or from_model('ft:...') first"
            )
        return pricer

    # Training ----------------------------------------------------------------------------------

    def training_examples(self, items: Sequence[Item]) -> list[dict[str, Any]]:
        return [training_example(item, self._prompt()) for item in items]

    def check(
        self, train: Sequence[Item], validation: Sequence[Item] | None = None
    ) -> TrainingFileReport:
        """Validate the training (and validation) files without uploading: a dry run of `fit`."""
        check_base_model(self.base_model)
        report = validate_examples(self.training_examples(train), base_model=self.base_model)
        if validation:
            validate_examples(
                self.training_examples(validation),
                base_model=self.base_model,
                source="validation file",
                min_examples=1,
            )
        return report

    def fit(
        self, train: Sequence[Item], validation: Sequence[Item] | None = None
    ) -> OpenAIFineTuned:
        """Train on `train` (checking on `validation`) and follow the job until it ends.

        Fitting again with the same data and settings re-attaches to the earlier job (unless it
        failed or was cancelled) instead of starting, and paying for, a new one.
        """
        report = self.check(train, validation)
        train_file = to_jsonl(self.training_examples(train))
        val_file = to_jsonl(self.training_examples(validation)) if validation else None
        key = self._key(train_file, val_file)
        state = JobState.find(self._state_dir(), key=key)
        if state is not None and state.job_id and state.status not in ("failed", "cancelled"):
            self._console.print(f"re-attaching to fine-tuning job {state.job_id} (same request)")
            return self._follow(state)
        epochs = (self.hyperparameters or {}).get("n_epochs", "auto")
        cost = report.cost(self.base_model, epochs if isinstance(epochs, int) else 1)
        self._console.print(
            f"training file: {report.n_examples} examples, about {report.tokens:,} tokens"
            + (f", about ${cost:,.2f} to train" if cost is not None else "")
            + ("" if isinstance(epochs, int) else " per epoch")
        )
        state = JobState(
            key=key,
            base_model=self.base_model,
            hyperparameters=self.hyperparameters or {},
            suffix=self.suffix,
            seed=self.seed,
            prompt=_prompt_dict(self._prompt()),
            training_tokens=report.tokens,
        )
        client = self._client()
        state.training_file = self._upload(client, train_file, f"{key}-train.jsonl")
        if val_file is not None:
            state.validation_file = self._upload(client, val_file, f"{key}-validation.jsonl")
        state.save(self._state_dir())
        job = client.fine_tuning.jobs.create(**self.job_request(state))
        state.job_id, state.status = job.id, job.status
        path = state.save(self._state_dir())  # before anything else can fail
        self._console.print(f"created fine-tuning job {job.id} (state saved in {path})")
        return self._follow(state)

    def job_request(self, state: JobState) -> dict[str, Any]:
        """The body of the create-job call (the `method` form; `hyperparameters` is deprecated)."""
        request: dict[str, Any] = {
            "model": self.base_model,
            "training_file": state.training_file,
            "method": {
                "type": "supervised",
                "supervised": {"hyperparameters": dict(self.hyperparameters or {})},
            },
        }
        if state.validation_file:
            request["validation_file"] = state.validation_file
        if self.suffix:
            request["suffix"] = self.suffix
        if self.seed is not None:
            request["seed"] = self.seed
        if self.wandb_project:
            request["integrations"] = [{"type": "wandb", "wandb": {"project": self.wandb_project}}]
        return request

    @classmethod
    def resume(cls, job_id: str, **options: Any) -> OpenAIFineTuned:
        """Re-attach to a job started earlier (after a crash or Ctrl-C) and follow it to the end.

        The settings come from the saved state when there is one; `options` are those of
        `__init__` (client, state_dir, poll_interval...).
        """
        finetuned = cls(**options)
        state = JobState.find(finetuned._state_dir(), job_id=job_id)
        if state is None:
            job = finetuned._client().fine_tuning.jobs.retrieve(job_id)
            state = JobState(key=job_id, base_model=job.model, job_id=job.id, status=job.status)
        else:
            finetuned.base_model = state.base_model
            finetuned.hyperparameters = state.hyperparameters or None
            finetuned.suffix, finetuned.seed = state.suffix, state.seed
            if state.prompt is not None and finetuned.prompt is None:
                finetuned.prompt = PromptTemplate(**state.prompt)
        state.save(finetuned._state_dir())
        return finetuned._follow(state)

    @classmethod
    def from_model(cls, model: str, **options: Any) -> OpenAIFineTuned:
        """A pricer on a model fine-tuned earlier ("ft:gpt-4o-mini-2024-07-18:org:pricer:id")."""
        if not model.startswith("ft:"):
            raise PricerError(f"from_model wants a fine-tuned model name ('ft:...'), not {model!r}")
        base = model.split(":")[1] if model.count(":") >= 1 else DEFAULT_BASE_MODEL
        finetuned = cls(base_model=base, **options)
        finetuned._trained_as(model, job_id=None)
        return finetuned

    # Following a job ----------------------------------------------------------------------------

    def _follow(self, state: JobState) -> OpenAIFineTuned:
        assert state.job_id is not None
        try:
            job = self._poll_until_done(state)
        except KeyboardInterrupt:
            if self._ask_to_cancel(state.job_id):
                self._client().fine_tuning.jobs.cancel(state.job_id)
                state.status = "cancelled"
                state.save(self._state_dir())
                raise FineTuneError(
                    f"fine-tuning job {state.job_id} cancelled at your request", state.job_id
                ) from None
            Console(stderr=True, highlight=False).print(
                f"fine-tuning job {state.job_id} is still running at OpenAI. Re-attach with "
                f"OpenAIFineTuned.resume({state.job_id!r}) or `pricebench finetune resume "
                f"{state.job_id}`",
                soft_wrap=True,
            )
            raise
        if job.status != "succeeded":
            error = getattr(job, "error", None)
            message = getattr(error, "message", None) or "no reason given"
            state.error = message
            state.save(self._state_dir())
            raise FineTuneError(
                f"fine-tuning job {job.id} {job.status}: {message}",
                job.id,
                getattr(error, "code", None),
            )
        self.trained_tokens_ = job.trained_tokens
        price = TRAINING_PRICES.get(self.base_model)
        self.training_cost_ = (
            job.trained_tokens * price / 1e6 if job.trained_tokens and price is not None else 0.0
        )
        self._trained_as(job.fine_tuned_model, job_id=job.id)
        self._console.print(f"fine-tuned model: {job.fine_tuned_model}")
        return self

    def _poll_until_done(self, state: JobState) -> Any:
        client = self._client()
        seen: set[str] = set()
        while True:
            job = client.fine_tuning.jobs.retrieve(state.job_id)
            events = client.fine_tuning.jobs.list_events(state.job_id, limit=100).data
            for event in sorted(events, key=lambda e: (e.created_at, e.id)):
                if event.id not in seen:
                    seen.add(event.id)
                    self._console.print(describe_event(event))
            if job.status != state.status or job.fine_tuned_model != state.fine_tuned_model:
                if job.status != state.status:
                    self._console.print(f"[bold]job {job.id}: {job.status}[/bold]")
                state.status, state.fine_tuned_model = job.status, job.fine_tuned_model
                state.trained_tokens = job.trained_tokens
                state.save(self._state_dir())
            if job.status in TERMINAL:
                return job
            time.sleep(self.poll_interval)

    def _ask_to_cancel(self, job_id: str) -> bool:
        """Ask on a terminal whether to cancel; anything but a clear yes leaves the job running."""
        if not sys.stdin.isatty():
            return False
        try:
            answer = input(f"\nCancel fine-tuning job {job_id}? [y/N] ")
        except (EOFError, KeyboardInterrupt):
            return False
        return answer.strip().lower() in ("y", "yes")

    def _trained_as(self, model: str, job_id: str | None) -> None:
        from pricebench.providers.openai import OpenAIPricer

        self.job_id_ = job_id
        self.fine_tuned_model_ = model
        self.pricer_ = OpenAIPricer(
            model, prompt=self._prompt(), client=self.client, **self.pricer_options
        )

    # Plumbing -----------------------------------------------------------------------------------

    def _prompt(self) -> PromptTemplate:
        return self.prompt if self.prompt is not None else COURSE_PROMPT

    def _state_dir(self) -> Path:
        return Path(self.state_dir) if self.state_dir is not None else default_state_dir()

    def _client(self) -> Any:
        if self.client is None:
            if not os.environ.get("OPENAI_API_KEY"):
                raise PricerError("OpenAIFineTuned: set OPENAI_API_KEY to fine-tune a model")
            try:
                import openai
            except ModuleNotFoundError as error:
                raise missing_extra(error, "OpenAIFineTuned") from None

            self.client = openai.OpenAI()
        return self.client

    def _upload(self, client: Any, content: bytes, filename: str) -> str:
        uploaded = client.files.create(file=(filename, content), purpose="fine-tune")
        self._console.print(f"uploaded {filename} as {uploaded.id}")
        return uploaded.id

    def _key(self, train_file: bytes, val_file: bytes | None) -> str:
        digest = hashlib.sha256()
        settings = {
            "base_model": self.base_model,
            "hyperparameters": self.hyperparameters or {},
            "suffix": self.suffix,
            "seed": self.seed,
            "wandb": self.wandb_project,
        }
        digest.update(json.dumps(settings, sort_keys=True).encode())
        digest.update(hashlib.sha256(train_file).digest())
        digest.update(hashlib.sha256(val_file or b"").digest())
        return "ft-" + digest.hexdigest()[:16]

    def __repr__(self) -> str:
        return f"OpenAIFineTuned({self.name})"


def check_base_model(model: str) -> None:
    """Refuse a base model OpenAI does not fine-tune, or one past its shutdown date."""
    info = resolve(model, "openai")
    if not info.family.fine_tunable or model.startswith("ft:"):
        names = ", ".join(f.fine_tune_snapshot or f.pattern for f in fine_tunable())
        raise PricerError(f"{model} cannot be fine-tuned; fine-tunable snapshots: {names}")
    info.check_available()


def describe_event(event: Any) -> str:
    """One line for a job event: its message, or the step's losses for a metrics event."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.type == "metrics" and "step" in data:
        parts = [
            f"step {data['step']}" + (f"/{data['total_steps']}" if "total_steps" in data else "")
        ]
        for field in ("train_loss", "valid_loss", "train_mean_token_accuracy"):
            if isinstance(data.get(field), (int, float)):
                parts.append(f"{field.replace('_', ' ')} {data[field]:.4f}")
        return "  " + ", ".join(parts)
    colour = {"warn": "yellow", "error": "red"}.get(event.level, "dim")
    return f"[{colour}]{event.message}[/{colour}]"


def _prompt_dict(prompt: PromptTemplate) -> dict[str, Any]:
    return {"system": prompt.system, "user": prompt.user, "prefill": prompt.prefill}


def fine_tuned_pricer(model: str, *, cache: Any = True, **options: Any) -> Any:
    """The `ft:` spec: `ft:gpt-4o-mini-2024-07-18:org::id` is that fine-tuned model's pricer.

    `cache` is named so that `pricebench run --no-cache` knows this pricer takes it.
    """
    from pricebench.providers.openai import OpenAIPricer

    name = model if model.startswith("ft:") else f"ft:{model}"
    return OpenAIPricer(name, cache=cache, **options)
