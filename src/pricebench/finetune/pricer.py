"""`OpenAIFineTuned`: fine-tuning an OpenAI chat model into a pricer, safely.

`OpenAIFineTuned(...).fit(train, validation)` builds the chat-format training file from the same
`PromptTemplate` the pricer predicts with, checks it against OpenAI's documented format and limits
before anything is uploaded, uploads it (`purpose="fine-tune"`), creates the job and follows it to
the end. A paid job is never lost: its id is written to `state_dir` as soon as it exists, fitting
again with the same data and settings re-attaches to it instead of paying twice, and
`OpenAIFineTuned.resume(job_id)` re-attaches after a crash. Once trained it prices items through an
ordinary `OpenAIPricer` (cache, retries, cost accounting) on the fine-tuned model.

OpenAI is closing self-serve fine-tuning in stages (the catalogue's `fine_tuning_access`: to
organizations that never fine-tuned on 2026-05-07, to those with no fine-tuned inference in 60
days on 2026-07-02, to everyone on 2027-01-06). `check` and `fit` say so before anything is
uploaded, `fit` refuses once it is closed to everyone, and a refusal from the API becomes one line
naming the open-weights path, `pricebench finetune lora`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from pricebench.chat.models import fine_tuning_access
from pricebench.chat.prompts import COURSE_PROMPT, PromptTemplate, load_prompt, prompt_fields
from pricebench.errors import PricerError, missing_extra
from pricebench.finetune.base_models import DEFAULT_BASE_MODEL, check_base_model, training_cost
from pricebench.finetune.files import (
    TrainingFileReport,
    to_jsonl,
    training_example,
    validate_examples,
)
from pricebench.finetune.jobs import (
    TERMINAL,
    FineTuneError,
    JobState,
    default_state_dir,
    describe_event,
)
from pricebench.items import Item

if TYPE_CHECKING:
    from pricebench.pricer import Estimate

HYPERPARAMETERS = frozenset({"n_epochs", "batch_size", "learning_rate_multiplier"})
LORA_PATH = "`pricebench finetune lora` (open weights, on your own GPU)"


def _today() -> date:
    return date.today()


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
        prompt: PromptTemplate | str | None = None,
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
            "prompt": prompt_fields(self._prompt()),
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
        """Validate the training (and validation) files without uploading: a dry run of `fit`.
        Says first who may still start OpenAI fine-tuning jobs (the catalogue's record)."""
        self._console.print(fine_tuning_access("openai").notice(_today()), soft_wrap=True)
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
        client = self._client()  # a missing SDK or key is said before anything else
        report = self.check(train, validation)
        access = fine_tuning_access("openai")
        if access.closed(_today()):
            raise FineTuneError(
                f"OpenAI closed self-serve fine-tuning to everyone on {access.closes} "
                f"({access.source}): nothing uploaded. Open weights: {LORA_PATH}"
            )
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
            prompt=prompt_fields(self._prompt()),
            training_tokens=report.tokens,
        )
        try:
            state.training_file = self._upload(client, train_file, f"{key}-train.jsonl")
            if val_file is not None:
                state.validation_file = self._upload(client, val_file, f"{key}-validation.jsonl")
            state.save(self._state_dir())
            job = client.fine_tuning.jobs.create(**self.job_request(state))
        except Exception as error:
            raise _refusal(error) from None
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
        self.training_cost_ = training_cost(self.base_model, job.trained_tokens or 0) or 0.0
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
        from pricebench.chat.openai import OpenAIPricer

        self.job_id_ = job_id
        self.fine_tuned_model_ = model
        self.pricer_ = OpenAIPricer(
            model, prompt=self._prompt(), client=self.client, **self.pricer_options
        )

    # Plumbing -----------------------------------------------------------------------------------

    def _prompt(self) -> PromptTemplate:
        return load_prompt(self.prompt) if self.prompt is not None else COURSE_PROMPT

    def _state_dir(self) -> Path:
        return Path(self.state_dir) if self.state_dir is not None else default_state_dir()

    def _client(self) -> Any:
        if self.client is None:
            try:  # a missing SDK is said first: a key would not help without it
                import openai
            except ModuleNotFoundError as error:
                raise missing_extra(error, "OpenAIFineTuned") from None
            if not os.environ.get("OPENAI_API_KEY"):
                raise PricerError("OpenAIFineTuned: set OPENAI_API_KEY to fine-tune a model")

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


def fine_tuned_pricer(model: str, *, cache: Any = True, **options: Any) -> Any:
    """The `ft:` spec: `ft:gpt-4o-mini-2024-07-18:org::id` is that fine-tuned model's pricer.

    `cache` is named so that `pricebench run --no-cache` knows this pricer takes it.
    """
    from pricebench.chat.openai import OpenAIPricer

    name = model if model.startswith("ft:") else f"ft:{model}"
    return OpenAIPricer(name, cache=cache, **options)


def _refusal(error: Exception) -> Exception:
    """OpenAI's refusal to take a file or start a job, as one line naming the open-weights path;
    other errors (a rejected key, no network) stay as they are."""
    from pricebench.redact import redact

    status = getattr(error, "status_code", None)
    body = getattr(error, "body", None)
    detail = body.get("error", body) if isinstance(body, dict) else None
    message = detail.get("message") if isinstance(detail, dict) else None
    message = redact(str(message or getattr(error, "message", None) or error))
    refused = status in (403, 404) or (status in (400, 422) and "fine-tun" in message.lower())
    if not refused:
        return error
    access = fine_tuning_access("openai")
    return FineTuneError(
        f"OpenAI refused the fine-tuning job (HTTP {status}: {message}). Its self-serve "
        f"fine-tuning is closed to most organizations, and to everyone on {access.closes} "
        f"({access.source}). Open weights: {LORA_PATH}"
    )
