"""The model catalogue: what each chat model family accepts, so requests never carry a parameter
that the model rejects.

The rules live in `models.json` beside this module, one row per family, newest first; the first
row whose `pattern` matches the whole model id wins. Each row names its source and the date it
was checked, and `pricebench models` prints them. A fine-tuned OpenAI model (`ft:BASE:org::id`)
takes its base model's row, without the prefill turn: it answers the conversation it learnt.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pricebench.errors import PricerError

Provider = Literal["openai", "anthropic", "openai-compatible"]
SHUTDOWN_NOTICE_DAYS = 30  # a model shutting down this soon is named before the first call


def current_date() -> date:
    """Today (a function, so that tests can move it)."""
    return date.today()


PROVIDERS: tuple[Provider, ...] = ("openai", "anthropic", "openai-compatible")


class ModelFamily(BaseModel):
    """One row of the catalogue: a family of model ids and what requests to them may hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str
    provider: Provider
    label: str
    prefill: bool = True  # accepts a trailing assistant turn ("Price is $") to continue
    temperature: bool = True
    seed: bool = True
    token_parameter: Literal["max_tokens", "max_completion_tokens"] = "max_completion_tokens"
    efforts: list[str] = Field(default_factory=list)  # reasoning effort levels, lowest first
    efforts_by_name: dict[str, list[str]] = Field(default_factory=dict)
    default_effort: str | None = None  # the lowest level that works, sent unless overridden
    default_max_tokens: int = 16  # output budget: reasoning models need room to think
    # Claude's thinking: "off" (not unless asked), "disable" (on by default; pricebench sends
    # thinking {"type": "disabled"}), "always" (cannot be turned off: the output budget leaves
    # room for it at the lowest effort). Thinking tokens count toward max_tokens.
    thinking: Literal["off", "disable", "always"] = "off"
    structured: bool = True  # JSON-schema structured output
    responses_only: bool = False  # served by OpenAI's Responses API only, not Chat Completions
    batch: bool = True
    fine_tunable: bool = False
    fine_tune_snapshot: str | None = None  # the snapshot a fine-tuning job names
    # US dollars per million input and output tokens of a model fine-tuned from each snapshot,
    # for the snapshots genai-prices does not list.
    fine_tuned_prices: dict[str, tuple[float, float]] = Field(default_factory=dict)
    shutdown: date | None = None
    shutdown_by_name: dict[str, date] = Field(default_factory=dict)
    retired: bool = False  # gone from the provider, date unknown
    note: str = ""
    source: str
    checked: date

    def matches(self, model: str) -> bool:
        return re.fullmatch(self.pattern, model) is not None


class ModelInfo(BaseModel):
    """The catalogue's answer for one model id."""

    model_config = ConfigDict(frozen=True)

    model: str
    family: ModelFamily
    fine_tuned: bool = False

    @property
    def base(self) -> str:
        """The model id the family row was matched on (the base model of a fine-tune)."""
        return base_model(self.model)

    @property
    def prefill(self) -> bool:
        # A fine-tune learnt to answer [system, user] with "Price is $45.99": a prefill turn would
        # be a conversation it never saw.
        return self.family.prefill and not self.fine_tuned

    @property
    def efforts(self) -> list[str]:
        return self.family.efforts_by_name.get(self.base, self.family.efforts)

    @property
    def default_effort(self) -> str | None:
        """The effort sent unless another is given: the row's, where this model knows it, else
        the model's lowest."""
        wanted = self.family.default_effort
        if wanted is None or not self.efforts:
            return None
        return wanted if wanted in self.efforts else self.efforts[0]

    @property
    def responses_only(self) -> bool:
        """Served by OpenAI's Responses API only: the catalogue's row says so, or the installed
        SDK's own `ResponsesModel` type lists the model (`deprecations.responses_only_models`)."""
        if self.family.responses_only:
            return True
        if self.family.provider != "openai":
            return False
        from pricebench.chat.deprecations import responses_only_models

        return self.base in responses_only_models()

    @property
    def reasoning(self) -> bool:
        return self.family.provider == "openai" and (bool(self.efforts) or self.responses_only)

    @property
    def shutdown(self) -> date | None:
        """The shutdown date: the provider SDK's own table where it names the model (so an SDK
        upgrade updates it), else the catalogue's."""
        return self._shutdown()[0]

    @property
    def shutdown_source(self) -> str:
        return self._shutdown()[1]

    def _shutdown(self) -> tuple[date | None, str]:
        from pricebench.chat.deprecations import sdk_shutdown

        if self.family.provider != "openai-compatible":
            listed = sdk_shutdown(self.family.provider, self.base)
            if listed is not None:
                return listed
        day = self.family.shutdown_by_name.get(self.base, self.family.shutdown)
        return day, f"pricebench catalogue (checked {self.family.checked})" if day else "-"

    @property
    def thinking_text(self) -> str:
        """What a request does about the model's thinking or reasoning (`pricebench models`)."""
        family = self.family
        room = f"the output budget of {family.default_max_tokens} tokens leaves room for it"
        if family.thinking == "disable":
            return 'disabled: sends thinking {"type": "disabled"} (on by default otherwise)'
        if family.thinking == "always":
            return f"always on (cannot be disabled): effort {self.default_effort!r}; {room}"
        if self.reasoning:
            if self.default_effort == "none":
                return "none: sends reasoning effort 'none', the lowest"
            if self.default_effort is None:
                return f"reasoning at the model's own effort; {room}"
            return f"reasoning at the lowest effort, {self.default_effort!r}; {room}"
        return "off (the model does not think unless asked)"

    def shutdown_notice(self, today: date | None = None) -> str | None:
        """A line saying the model shuts down within `SHUTDOWN_NOTICE_DAYS`, or None."""
        today = today or current_date()
        if self.shutdown is None or self.shutdown <= today:
            return None
        days = (self.shutdown - today).days
        if days > SHUTDOWN_NOTICE_DAYS:
            return None
        return (
            f"{self.model}: shuts down at {self.family.provider} on {self.shutdown}, in {days} "
            f"day{'s' if days != 1 else ''} ({self.shutdown_source}): a run after that cannot "
            "be repeated or resumed; `pricebench models` lists the current models"
        )

    def check_available(self, today: date | None = None) -> None:
        """Refuse a model its provider has shut down (naming the date), before any paid call."""
        today = today or current_date()
        if self.shutdown is not None and self.shutdown <= today:
            raise PricerError(
                f"{self.model}: shut down by {self.family.provider} on {self.shutdown} "
                f"({self.shutdown_source}); pick a current model (`pricebench models` lists "
                "them, with their sources)"
            )
        if self.family.retired:
            raise PricerError(
                f"{self.model}: retired by {self.family.provider}; "
                "pick a current model (`pricebench models` lists them, with their sources)"
            )

    def check_effort(self, effort: str) -> None:
        if not self.efforts:
            raise PricerError(f"{self.model}: takes no reasoning effort ({self.family.label})")
        if effort not in self.efforts:
            raise PricerError(
                f"{self.model}: reasoning effort {effort!r} is not one of {self.efforts}"
            )


class AccessStage(BaseModel):
    """From `closed_on`, new fine-tuning jobs are refused `to` these organizations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    closed_on: date
    to: str


class FineTuningAccess(BaseModel):
    """Who may still start a provider's self-serve fine-tuning jobs, with dates and source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stages: list[AccessStage]
    inference: str
    source: str
    checked: date

    @property
    def closes(self) -> date:
        """The day new jobs close to everyone."""
        return max(stage.closed_on for stage in self.stages)

    def closed(self, today: date | None = None) -> bool:
        return (today or date.today()) >= self.closes

    def notice(self, today: date | None = None) -> str:
        """What holds today, in one paragraph: printed before any upload."""
        today = today or date.today()
        past = [s for s in self.stages if s.closed_on <= today and s.closed_on < self.closes]
        lines = [f"closed to {s.to} since {s.closed_on}" for s in past]
        if self.closed(today):
            head = f"OpenAI self-serve fine-tuning: new jobs closed to everyone since {self.closes}"
        else:
            days = (self.closes - today).days
            head = (
                f"OpenAI self-serve fine-tuning: new jobs close to everyone on {self.closes} "
                f"(in {days} days)" + (f"; already {'; '.join(lines)}" if lines else "")
            )
        return (
            f"{head}. {self.inference[:1].upper()}{self.inference[1:]}. Source: {self.source}, "
            f"checked {self.checked}. Open weights, trained on your own GPU: "
            "`pricebench finetune lora`."
        )


@cache
def fine_tuning_access(provider: str = "openai") -> FineTuningAccess:
    """The catalogue's record of who may start fine-tuning jobs at `provider`."""
    text = files("pricebench.chat").joinpath("models.json").read_text(encoding="utf-8")
    try:
        return FineTuningAccess.model_validate(json.loads(text)["fine_tuning"][provider])
    except (KeyError, json.JSONDecodeError, ValidationError) as error:
        raise PricerError(f"pricebench's models.json has no fine-tuning record: {error}") from None


def base_model(model: str) -> str:
    """`gpt-4o-mini-2024-07-18` for `ft:gpt-4o-mini-2024-07-18:org:name:id`; else `model`."""
    if model.startswith("ft:"):
        return model.split(":")[1]
    return model


@cache
def catalogue() -> tuple[ModelFamily, ...]:
    """Every row of `models.json`, in order."""
    text = files("pricebench.chat").joinpath("models.json").read_text(encoding="utf-8")
    try:
        rows = json.loads(text)["families"]
        return tuple(ModelFamily.model_validate(row) for row in rows)
    except (KeyError, json.JSONDecodeError, ValidationError) as error:
        raise PricerError(f"pricebench's models.json is broken: {error}") from None


def resolve(model: str, provider: Provider = "openai") -> ModelInfo:
    """The catalogue row for `model` at `provider` (every provider has a catch-all last row)."""
    if provider not in PROVIDERS:
        raise PricerError(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
    base = base_model(model)
    for family in catalogue():
        if family.provider == provider and family.matches(base):
            return ModelInfo(model=model, family=family, fine_tuned=base != model)
    raise PricerError(f"no catalogue row for {provider} model {model!r}")


def fine_tunable() -> list[ModelFamily]:
    """Rows whose models OpenAI fine-tunes, newest first."""
    return [family for family in catalogue() if family.fine_tunable]


def default_fine_tune_base(today: date | None = None) -> str:
    """The newest fine-tunable snapshot that has not been shut down."""
    for family in fine_tunable():
        snapshot = family.fine_tune_snapshot
        if snapshot is None:
            continue
        info = ModelInfo(model=snapshot, family=family)
        try:
            info.check_available(today)
        except PricerError:
            continue
        return snapshot
    raise PricerError("no fine-tunable OpenAI model in the catalogue is still available")
