"""Every Python snippet in README.md and docs/*.md runs as written.

The snippets of one document run in document order in one namespace (a later snippet uses the
`data` an earlier one loaded), from a fresh working directory where `../shared/data/` is the real
data, as it is from the repository root. A snippet that needs what the suite cannot have (an API
key, the network, a GPU, a long fit, a user's own file) says so on the line before its fence:
`<!-- not-run: needs OPENAI_API_KEY -->`; it is skipped with that reason and nothing else is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(?P<reason>.+?)\s*-->$")


@dataclass(frozen=True)
class Snippet:
    document: str
    line: int  # of the opening fence
    code: str
    not_run: str | None  # the reason, when marked


def snippets(path: Path) -> list[Snippet]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```python":
            end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
            marker = NOT_RUN.match(lines[index - 1].strip()) if index else None
            found.append(
                Snippet(
                    str(path.relative_to(ROOT)),
                    index + 1,
                    "\n".join(lines[index + 1 : end]) + "\n",
                    marker["reason"] if marker else None,
                )
            )
            index = end
        index += 1
    return found


ALL = [snippet for path in DOCUMENTS for snippet in snippets(path)]


@dataclass
class Document:
    """One document's run: its working directory and the namespace its snippets share."""

    workdir: Path
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__docs__"})
    ran: set[int] = field(default_factory=set)


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> dict[str, Document]:
    """Per document, a working directory with `../shared` beside it, as a checkout has."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"the shared data is not beside the checkout ({SHARED / 'data'})")
    top = tmp_path_factory.mktemp("docs")
    (top / "shared").symlink_to(SHARED, target_is_directory=True)
    found = {}
    for path in DOCUMENTS:
        name = str(path.relative_to(ROOT))
        workdir = top / name.replace("/", "-").removesuffix(".md")
        workdir.mkdir()
        found[name] = Document(workdir)
    return found


def test_every_document_with_python_has_snippets():
    """The extraction finds the fences (a format change must not make this test vacuous)."""
    assert len(ALL) >= 20
    assert {s.document for s in ALL} >= {"README.md", "docs/core.md", "docs/compare.md"}


def test_markers_sit_only_before_python_fences():
    """A `not-run` comment anywhere else is a typo that would leave a snippet running."""
    for path in DOCUMENTS:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines[:-1], start=1):
            if NOT_RUN.match(line.strip()):
                assert lines[number].strip() == "```python", f"{path.name}:{number}"


@pytest.mark.parametrize("snippet", ALL, ids=[f"{s.document}:{s.line}" for s in ALL])
def test_snippet_runs(snippet, documents, monkeypatch):
    if snippet.not_run:
        pytest.skip(f"{snippet.document}:{snippet.line}: {snippet.not_run}")
    document = documents[snippet.document]
    monkeypatch.chdir(document.workdir)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)  # a runnable snippet must not need one
    # The earlier runnable snippets of the document first, when this one is run alone.
    for earlier in ALL:
        if (
            earlier.document == snippet.document
            and earlier.line <= snippet.line
            and not earlier.not_run
            and earlier.line not in document.ran
        ):
            document.ran.add(earlier.line)
            code = compile(earlier.code, f"{earlier.document}:{earlier.line}", "exec")
            exec(code, document.namespace)
