"""The quickstart notebook, executed headless as a student would run it in Jupyter."""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import pytest

from .conftest import COURSE_ITEMS

nbformat = pytest.importorskip("nbformat")  # the `dev` extra installs both
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


@pytest.fixture(scope="module")
def executed():
    if not COURSE_ITEMS.exists():
        pytest.fail(f"{COURSE_ITEMS} is missing: the notebook reads the course data")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # This environment's python3 kernel (ipykernel's spec runs sys.executable).
    notebook.cells.insert(0, nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    return notebook


def _outputs(cell) -> list[dict]:
    return list(cell.get("outputs", []))


def _text(cell) -> str:
    parts = []
    for output in _outputs(cell):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return re.sub(r"\x1b\[[0-9;]*m", "", "".join(parts))


def test_the_notebook_runs_in_this_environments_kernel(executed):
    assert Path(_text(executed.cells[0]).strip()).resolve() == Path(sys.executable).resolve()


def test_testing_prints_a_line_per_item_and_the_summary(executed):
    cell = next(c for c in executed.cells if "Tester.test(" in c.source)
    text = _text(cell)
    lines = re.findall(r"^(\d+): Guess: \$[\d,.]+ Truth: \$[\d,.]+ Error:", text, re.MULTILINE)
    assert [int(n) for n in lines] == list(range(1, 51))
    assert re.search(r"bow-lr: error \$[\d,.]+ \[.*\].*n=50 failed=0", text)


def _pngs(cell) -> list[bytes]:
    return [
        base64.b64decode(output["data"]["image/png"])
        for output in _outputs(cell)
        if "image/png" in output.get("data", {})
    ]


def test_charts_show_inline_without_any_magic(executed):
    sources = "\n".join(c.source for c in executed.cells if c.cell_type == "code")
    assert "%matplotlib" not in sources
    for call in ("results.chart()", "leaderboard_chart("):
        cell = next(c for c in executed.cells if call in c.source)
        (png,) = _pngs(cell)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_a_leaderboard_prints_as_text(executed):
    cell = next(c for c in executed.cells if "leaderboard(" in c.source)
    text = _text(cell)
    assert re.search(r"1\. \S+: \$[\d,.]+", text) and "2. " in text
