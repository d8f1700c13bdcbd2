"""The rest of a new user's first hour (issue 14, items 7-10): progress that agrees with the
per-item lines, a narrow terminal, running outside a checkout, and the report's smaller faults."""

from __future__ import annotations

import io
import re

from rich.console import Console

from pricebench import Item, Tester

from .conftest import COURSE_ITEMS
from .test_first_hour import pricebench

# rich draws a live display as if stderr were a terminal (no colours, to keep the text plain)
AS_TERMINAL = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "100"}


class Twenty:
    name = "twenty"

    def predict(self, item: Item) -> float:
        return 20.0


# --- 7. progress --------------------------------------------------------------------------------


def test_the_progress_bar_counts_the_items_already_printed(items):
    tester = Tester(Twenty(), items, verbose=True, progress=True)
    screen = io.StringIO()
    tester.console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    tester.run()
    # After each per-item line the bar is drawn again below it: it must count that item.
    after_lines = re.findall(r"(\d+): Guess[^\n]*\n[^\r]*? (\d+)/5 ", screen.getvalue())
    assert [int(n) for n, _ in after_lines] == [1, 2, 3, 4, 5], screen.getvalue()
    assert all(line == shown for line, shown in after_lines), after_lines


def test_fitting_shows_a_spinner_with_the_time_in_a_terminal(tmp_path):
    done = pricebench(
        "run",
        "constant",
        "--data",
        str(COURSE_ITEMS),
        "--size",
        "2",
        "--out",
        str(tmp_path),
        **AS_TERMINAL,
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[?25l" in done.stderr  # a live display started (the cursor is hidden)
    assert "fitting constant on 1952 training items" in done.stderr
    assert re.search(r"fitted constant in \d+\.\d s", done.stderr)


def test_fitting_outside_a_terminal_prints_plain_lines(tmp_path):
    done = pricebench(
        "run", "constant", "--data", str(COURSE_ITEMS), "--size", "2", "--out", str(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr
    lines = done.stderr.splitlines()
    assert "fitting constant on 1952 training items" in lines
    assert any(re.fullmatch(r"fitted constant in \d+\.\d s", line) for line in lines)
