"""The catalogue against the installed SDKs: Responses-only models go through the Responses API,
shutdown dates come from the SDKs' own deprecation tables, GPT-6 takes effort "max", `pricebench
models SPEC` needs no SDK, and the docs' examples use models that are not shutting down."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from pricebench.chat import deprecations
from pricebench.chat.models import catalogue, resolve
from pricebench.chat.openai import OpenAIPricer
from pricebench.errors import PricerError
from tests.strict_api import StrictOpenAI, openai_client
from tests.test_frontier_strict import ITEMS

ROOT = Path(__file__).resolve().parents[1]
PRO = ["gpt-5.5-pro", "gpt-5-pro", "o3-pro"]  # o1-pro is shut down (2026-10-23)


def responses_models() -> set[str]:
    """The model names the openai SDK types as Responses-only (in ResponsesModel's own list)."""
    text = deprecations._package_file("openai", "types/shared/responses_model.py")
    assert text is not None
    return set(re.findall(r"\"([\w.\-]+)\"", text.read_text()))


@pytest.mark.parametrize("model", PRO)
def test_responses_only_models_go_through_the_responses_api(model):
    assert model in responses_models()  # the SDK says so, not only the catalogue
    api = StrictOpenAI()
    pricer = OpenAIPricer(model, client=openai_client(api), cache=False, max_retries=0)
    assert pricer.estimate(ITEMS[0]).price == 42.0
    assert api.requests[0].url.path.endswith("/responses")
    assert "input" in api.bodies[0] and "max_output_tokens" in api.bodies[0]


def test_a_shut_down_responses_only_model_is_refused_naming_its_date():
    assert "o1-pro" in responses_models()
    with pytest.raises(PricerError, match="shut down by openai on 2026-10-23"):
        OpenAIPricer("o1-pro", client=openai_client(StrictOpenAI()), cache=False)


@pytest.mark.parametrize("model", PRO)
def test_chat_completions_for_a_responses_only_model_is_refused_before_any_call(model):
    api = StrictOpenAI()
    with pytest.raises(PricerError, match="Responses API only"):
        OpenAIPricer(model, api="chat", client=openai_client(api), cache=False)
    assert api.count == 0


@pytest.mark.parametrize(
    ("provider", "model", "day"),
    [
        ("openai", "gpt-5.1-codex", date(2026, 7, 23)),
        ("openai", "gpt-5.1-chat-latest", date(2026, 7, 23)),
        ("openai", "gpt-5.2-chat-latest", date(2026, 8, 10)),
        ("openai", "gpt-5.3-chat-latest", date(2026, 8, 10)),
        ("openai", "o1-pro", date(2026, 10, 23)),
        ("openai", "o3-pro", date(2026, 12, 11)),
        ("openai", "gpt-5-mini", date(2026, 12, 11)),
        ("anthropic", "claude-mythos-preview", date(2026, 6, 30)),
    ],
)
def test_shutdown_dates(provider, model, day):
    assert resolve(model, provider).shutdown == day


def test_the_sdk_tables_are_read_and_win_over_the_catalogue(monkeypatch, tmp_path):
    listed = deprecations.sdk_shutdowns()
    assert listed[("openai", "gpt-5.1-codex")][0] == date(2026, 7, 23)
    assert listed[("anthropic", "claude-mythos-preview")][0] == date(2026, 6, 30)
    assert "SDK" in resolve("gpt-5.2-chat-latest").shutdown_source
    # An SDK upgrade that announces a date is taken at once, for models the catalogue has none.
    table = tmp_path / "chat_model.py"
    table.write_text(
        '"""Deprecated values:\n\n- "gpt-5.5": Announced shutdown date: 2030-01-02.\n"""\n'
    )
    monkeypatch.setattr(
        deprecations,
        "_package_file",
        lambda package, relative: table if package == "openai" else None,
    )
    deprecations.sdk_shutdowns.cache_clear()
    try:
        assert resolve("gpt-5.5").shutdown == date(2030, 1, 2)
    finally:
        deprecations.sdk_shutdowns.cache_clear()


def test_the_catalogues_own_dates_agree_with_the_sdk_tables():
    # They stand in where no SDK is installed: they must say what the SDK says.
    listed = deprecations.sdk_shutdowns()
    for family in catalogue():
        for model, day in family.shutdown_by_name.items():
            sdk = listed.get((family.provider, model))
            assert sdk is None or sdk[0] == day, (model, day, sdk)


def test_gpt_6_takes_effort_max():
    assert "max" in resolve("gpt-6").efforts
    api = StrictOpenAI()
    pricer = OpenAIPricer(
        "gpt-6", client=openai_client(api), cache=False, reasoning_effort="max", max_tokens=20_000
    )
    assert pricer.estimate(ITEMS[0]).price == 42.0
    assert api.bodies[0]["reasoning_effort"] == "max"


HIDE_SDKS = """
import sys
sys.modules["openai"] = None      # `import openai` now fails as if it were not installed
sys.modules["anthropic"] = None
from pricebench.cli import main
code = main(["models", sys.argv[1]])
assert "openai" not in sys.modules or sys.modules["openai"] is None
sys.exit(code)
"""


@pytest.mark.parametrize(
    "spec", ["openai:gpt-5.4-mini", "openai:gpt-5.5-pro", "anthropic:claude-sonnet-5"]
)
def test_pricebench_models_spec_needs_no_sdk(spec):
    done = subprocess.run(
        [sys.executable, "-c", HIDE_SDKS, spec],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "request body for one item" in done.stdout


def test_a_missing_sdk_is_one_clear_line_when_a_pricer_is_made(monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-nosdk")
    with pytest.raises(ImportError, match=r"pip install 'pricebench\[openai\]'"):
        OpenAIPricer("gpt-5.4-mini", cache=False)


def doc_specs() -> list[tuple[str, str, str]]:
    """(file, provider, model) for each model named in a code block of README.md or docs/*.md
    (docs/benchmarks.md records past runs, with the models they used, and is left out)."""
    found = []
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    pattern = re.compile(
        r"\b(openai|anthropic):([\w.\-]+)|(OpenAI|Anthropic)Pricer\(\s*\"([\w.\-]+)\""
    )
    for path in files:
        if path.name == "benchmarks.md":
            continue
        for block in re.findall(r"```[a-z]*\n(.*?)```", path.read_text(), re.S):
            for match in pattern.finditer(block):
                provider = match.group(1) or (match.group(3) or "").lower()
                model = match.group(2) or match.group(4)
                found.append((path.name, provider, model))
    return found


def test_the_docs_examples_use_models_that_are_not_shutting_down():
    soon = date.today() + timedelta(days=180)
    specs = doc_specs()
    assert specs
    for name, provider, model in specs:
        info = resolve(model, provider)  # type: ignore[arg-type]
        assert info.shutdown is None or info.shutdown > soon, (name, model, info.shutdown)
        assert not info.family.retired, (name, model)
