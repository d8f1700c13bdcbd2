"""A new user's first hour through the console script: clear errors, no wasted refits, pricers
from a file, discovery (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import COURSE_ITEMS

SRC = Path(__file__).resolve().parents[1] / "src"


def pricebench(
    *argv: str,
    cwd: Path | None = None,
    pythonpath: tuple[Path, ...] = (),
    stdin: str | None = None,
    **env: str,
) -> subprocess.CompletedProcess:
    """Run the installed console script with this checkout's code (and `pythonpath` first)."""
    script = Path(sys.executable).with_name("pricebench")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pricebench"]
    paths = [*map(str, pythonpath), str(SRC), os.environ.get("PYTHONPATH", "")]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), **env}
    environment.pop("OPENAI_API_KEY", None)
    environment.pop("ANTHROPIC_API_KEY", None)
    environment.update(env)
    return subprocess.run(
        [*command, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=300,
        input=stdin,
    )


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# --- 2. a missing SDK is one line naming the extra -------------------------------------------


@pytest.fixture
def without_sdks(tmp_path) -> Path:
    """A folder that, first on the path, makes `import openai` / `import anthropic` fail."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    for name in ("openai", "anthropic"):
        (blocker / f"{name}.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{name}'\", name='{name}')\n"
        )
    return blocker


@pytest.mark.parametrize(
    ("spec", "extra"),
    [("openai:gpt-4o-mini", "openai"), ("anthropic:claude-haiku-4-5", "anthropic")],
)
def test_a_missing_sdk_is_one_line_naming_the_extra(spec, extra, without_sdks):
    data = ["--data", str(COURSE_ITEMS), "--size", "2"]
    done = pricebench("run", spec, *data, pythonpath=(without_sdks,))
    assert done.returncode == 2
    assert f"pip install 'pricebench[{extra}]'" in _one_line(done.stderr)


def test_fine_tuning_without_the_sdk_is_one_line(without_sdks, tmp_path):
    done = pricebench(
        "finetune", "openai", "--data", str(COURSE_ITEMS), "--train-size", "20",
        "--state-dir", str(tmp_path / "state"),
        pythonpath=(without_sdks,), OPENAI_API_KEY="sk-test",
    )  # fmt: skip
    assert done.returncode == 2
    assert "pip install 'pricebench[openai]'" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr


def test_the_lazy_api_names_the_extra_too(without_sdks):
    # The name imports without the SDK (the catalogue needs none); building a pricer names it.
    code = (
        "import pricebench\n"
        "try:\n    pricebench.OpenAIPricer('gpt-5.4-mini')\n"
        "except ImportError as error:\n    print(error)\n"
    )
    paths = os.pathsep.join([str(without_sdks), str(SRC)])
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": paths},
        check=True,
    ).stdout
    assert "pip install 'pricebench[openai]'" in out


# --- 4. reruns: check the run directory before fitting ---------------------------------------

DATA = ("--data", str(COURSE_ITEMS), "--size", "20")


def test_a_complete_run_is_not_fitted_or_priced_again(tmp_path):
    out = ("--out", str(tmp_path / "results"))
    first = pricebench("run", "constant", "bow-lr", *DATA, *out)
    assert first.returncode == 0, first.stderr
    assert "fitting bow-lr" in first.stderr
    items = (tmp_path / "results" / "bow-lr" / "items.jsonl").read_text()
    again = pricebench("run", "constant", "bow-lr", *DATA, *out)
    assert again.returncode == 0, again.stderr
    assert "fitting" not in again.stderr
    assert again.stderr.count("complete (20 priced, 0 failed); not run again") == 2
    assert (tmp_path / "results" / "bow-lr" / "items.jsonl").read_text() == items
    assert "bow-lr" in again.stdout and "constant" in again.stdout  # the table as before


def test_a_conflicting_run_is_refused_before_fitting_and_names_overwrite(tmp_path):
    out = ("--out", str(tmp_path / "results"))
    assert pricebench("run", "knn", *DATA, *out).returncode == 0
    refused = pricebench("run", "knn", "--param", "n_neighbors=3", *DATA, *out)
    assert refused.returncode == 2
    assert "fitting" not in refused.stderr
    line = refused.stderr.strip().splitlines()[-1]
    assert "other parameters (n_neighbors)" in line and "--overwrite" in line and "--out" in line
    redone = pricebench("run", "knn", "--param", "n_neighbors=3", "--overwrite", *DATA, *out)
    assert redone.returncode == 0 and "fitting knn" in redone.stderr


# --- 5. pricers from a file, per-spec parameters, one-line constructor errors ----------------

MINE = '''
from pricebench import Item


class MyPricer:
    """Ten times the length of the title, at least min_len characters counted."""

    def __init__(self, min_len: int = 1, scale: float = 10.0):
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.min_len = min_len
        self.scale = scale
        self.name = "title-length"

    def get_params(self):
        return {"min_len": self.min_len, "scale": self.scale}

    def predict(self, item: Item) -> float:
        return self.scale * max(len(item.title.split()), self.min_len)


def flat(item):
    return 42.0
'''


@pytest.fixture
def mine(tmp_path) -> Path:
    (tmp_path / "pricers").mkdir()
    path = tmp_path / "pricers" / "mine.py"
    path.write_text(MINE)
    return path


def test_a_pricer_class_from_a_file_runs_with_its_own_parameters(mine, tmp_path):
    out = tmp_path / "results"
    spec = f"{mine}:MyPricer:min_len=3"
    done = pricebench("run", spec, "knn:n_neighbors=3", *DATA, "--out", str(out))
    assert done.returncode == 0, done.stderr
    run = json.loads((out / "mine.py_MyPricer_min_len_3" / "run.json").read_text())
    assert run["pricer"] == "title-length" and run["params"]["min_len"] == 3
    knn = json.loads((out / "knn_n_neighbors_3" / "run.json").read_text())
    assert knn["params"]["n_neighbors"] == 3
    assert "title-length" in done.stdout


def test_a_function_from_a_file_and_a_class_from_a_module(mine, tmp_path):
    out = ("--out", str(tmp_path / "results"))
    assert pricebench("run", "pricers/mine.py:flat", *DATA, *out, cwd=tmp_path).returncode == 0
    done = pricebench("run", "mine:MyPricer", *DATA, *out, pythonpath=(mine.parent,))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results" / "mine_MyPricer" / "run.json").exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{mine}:MyPricer:scale=-1", "ValueError: scale must be positive, got -1"),
        ("{mine}:Nope", "no 'Nope' defined (pricer classes there: MyPricer)"),
        ("{missing}:MyPricer", "missing.py: no such file"),
        ("knn:colour=red", "unexpected keyword argument 'colour'"),
    ],
)
def test_pricer_errors_are_one_line(spec, message, mine, tmp_path):
    spec = spec.format(mine=mine, missing=tmp_path / "missing.py")
    done = pricebench("run", spec, *DATA, "--out", str(tmp_path / "results"))
    assert done.returncode == 2
    assert message in _one_line(done.stderr)


def test_a_syntax_error_in_a_pricer_file_names_its_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("class MyPricer:\n    def predict(self item):\n        return 1\n")
    done = pricebench("run", f"{broken}:MyPricer", *DATA)
    assert done.returncode == 2
    assert "broken.py, line 2: syntax error" in _one_line(done.stderr)


def test_a_parameter_for_every_spec_that_one_does_not_take_suggests_the_spec_form(tmp_path):
    done = pricebench("run", "knn", "constant", "--param", "n_neighbors=3", *DATA)
    assert done.returncode == 2
    assert "SPEC:KEY=VALUE" in _one_line(done.stderr)


def test_testing_an_unfitted_pricer_says_so():
    code = (
        "from pricebench import Tester, load_dataset, make_pricer\n"
        f"data = load_dataset({str(COURSE_ITEMS)!r})\n"
        "Tester(make_pricer('bow-lr'), data.test, size=3).run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=True,
    )
    assert "priced nothing" in done.stderr and "call fit(train) before predict" in done.stderr


# --- 6. discovery ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "suggestion"),
    [
        ("locl-best", "'local-best'"),
        ("random-forrest", "'random-forest'"),
        ("opnai:gpt-4o-mini", "'openai'"),
    ],
)
def test_a_typo_gets_a_did_you_mean(spec, suggestion):
    done = pricebench("run", spec, *DATA)
    assert done.returncode == 2
    assert f"did you mean {suggestion}" in _one_line(done.stderr)


def test_a_bare_model_name_is_understood():
    from pricebench.registry import parse_spec

    assert (parse_spec("gpt-4o-mini").name, parse_spec("gpt-4o-mini").arg) == (
        "openai",
        "gpt-4o-mini",
    )
    assert parse_spec("o3-mini").name == "openai"
    assert parse_spec("claude-3-5-haiku-latest").name == "anthropic"
    done = pricebench("run", "gpt-4o-mini", *DATA)  # no key: the provider's one-line error
    assert done.returncode != 0 and "OPENAI_API_KEY" in done.stderr
    assert "unknown pricer" not in done.stderr


def test_pricers_lists_syntax_and_descriptions():
    done = pricebench("pricers")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    for syntax in ("openai:MODEL", "ensemble:A+B", "constant:median", "FILE.py:CLASS"):
        assert any(syntax in line for line in lines), syntax
    local_best = next(line for line in lines if line.startswith("local-best"))
    assert "stacked" in local_best
    described = pricebench("pricers", "--help").stdout
    assert "spec" in described.lower() and "your own" in described


# --- 11. the human baseline ------------------------------------------------------------------


def test_play_asks_again_on_bad_input_resumes_and_shows_your_place(tmp_path):
    out = ("--out", str(tmp_path / "results"), "--data", str(COURSE_ITEMS))
    assert pricebench("run", "constant", "--size", "3", *out).returncode == 0
    # Empty, text and negative answers ask again; q stops the game, to be continued.
    first = pricebench("play", "--size", "3", *out, stdin="\nabc\n-5\n25\nq\n")
    assert first.returncode == 0, first.stderr
    assert "the same command continues" in first.stderr
    assert first.stdout.count("a price, please") == 3
    assert "1: Guess: $25.00" in first.stderr
    again = pricebench("play", "--size", "3", *out, stdin="$1,000\n30\n")
    assert again.returncode == 0, again.stderr
    assert "2: Guess: $1,000.00" in again.stderr and "3: Guess: $30.00" in again.stderr
    records = (tmp_path / "results" / "human" / "items.jsonl").read_text().splitlines()
    assert [json.loads(line)["guess"] for line in records] == [25.0, 1000.0, 30.0]
    assert "your place on these 3 items" in again.stdout
    assert "human" in again.stdout and "constant" in again.stdout


def test_a_sheet_of_guesses_is_exported_and_scored(tmp_path):
    import csv

    sheet = tmp_path / "sheet.csv"
    data = ("--data", str(COURSE_ITEMS), "--size", "3")
    assert pricebench("play", *data, "--export", str(sheet)).returncode == 0
    rows = list(csv.DictReader(sheet.open()))
    assert len(rows) == 3 and all(row["guess"] == "" and row["title"] for row in rows)
    rows[0]["guess"], rows[1]["guess"] = "10", "$20.50"  # the third left blank: a failure
    with sheet.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = pricebench("run", f"human:{sheet}", *data, "--out", str(tmp_path / "results"))
    assert done.returncode == 0, done.stderr
    assert "n=2 failed=1" in done.stderr
    rows[2]["guess"] = "lots"
    with sheet.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    bad = pricebench("run", f"human:{sheet}", *data, "--out", str(tmp_path / "other"))
    assert bad.returncode == 2
    assert "sheet.csv, line 4: guess 'lots' is not a positive number" in _one_line(bad.stderr)


# --- 10. smaller things ----------------------------------------------------------------------

ROOT = SRC.parent


def test_the_license_file_matches_pyproject():
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_docs_name_no_absolute_path_of_the_machine():
    assert "/work/" not in (ROOT / "docs" / "frontier.md").read_text()


def test_run_options_show_their_defaults():
    text = pricebench("run", "--help").stdout
    for option in ("--workers", "--timeout", "--id-column"):
        assert option in text
    assert "threads pricing at once (default: 1)" in " ".join(text.split())
    assert "column holding each item's id" in " ".join(text.split())
