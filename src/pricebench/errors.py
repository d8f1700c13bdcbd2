"""The errors pricebench raises on purpose.

Every error meant for a user derives from `PricebenchError`; the CLI prints its message and exits
non-zero instead of showing a traceback.
"""

from __future__ import annotations


class PricebenchError(Exception):
    """Base class of the errors a user should see as one clear message."""


class PricebenchWarning(UserWarning):
    """Something a user should know before paying for a run, that does not stop it (a model
    shutting down soon, a model without a price of its own); the CLI prints it on one line."""


class DataError(PricebenchError):
    """Input data that cannot be read: the message names the file and line or column."""


class SpecError(PricebenchError):
    """A pricer spec string that names no known pricer, or has bad options."""


class PricerError(PricebenchError):
    """A pricer that cannot work at all (missing key, unfitted, bad configuration)."""


class ResultsError(PricebenchError):
    """A results directory that cannot be read, resumed or written."""


class PriceParseError(PricebenchError):
    """A pricer's reply held no usable price. The reply is kept for the per-item record."""

    def __init__(self, message: str, reply: str | None = None) -> None:
        super().__init__(message)
        self.reply = reply
        # A paid reply that held no price still cost money: the chat pricers fill these in.
        self.input_tokens = 0
        self.output_tokens = 0
        self.cache_read_tokens = 0
        self.cache_write_tokens = 0
        self.cost: float | None = 0.0
        self.cached = False  # the reply came from pricebench's response cache
        self.list_cost: float | None = None  # what the reply costs at list price, paid or not


class StopRun(PricebenchError):  # noqa: N818 - it is a signal, not a failure of one item
    """Raised by a pricer to end a run cleanly (for example, a budget cap was reached).

    The Tester keeps what was priced so far, marks the run as stopped and lets it be resumed.
    """


class BudgetReached(StopRun):
    """A spending cap stops the run: the calls already in flight are healthy and paid for, so the
    Tester records their answers before it ends the run."""


# Optional SDKs and the extra that installs each.
EXTRAS = {"openai": "openai", "anthropic": "anthropic"}


class MissingExtra(PricebenchError, ImportError):
    """An optional SDK is not installed: the message names the `pip install` that adds it."""


def missing_extra(error: ModuleNotFoundError, what: str) -> Exception:
    """One clear line for a missing optional SDK; any other missing module stays as it was."""
    top = (error.name or "").partition(".")[0]
    if top not in EXTRAS:
        return error
    return MissingExtra(
        f"{what} needs the {top} package: pip install 'pricebench[{EXTRAS[top]}]'",
        name=top,
    )
