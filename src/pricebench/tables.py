"""Rich tables that also print as plain text, for `print(...)` in a script or a notebook."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.table import Table


class PrintableTable(Table):
    """A `rich.table.Table` whose `str()` is the table drawn as text (not the object's repr)."""

    def __str__(self) -> str:
        buffer = io.StringIO()
        Console(file=buffer, width=160, color_system=None, highlight=False).print(self)
        return buffer.getvalue().rstrip("\n")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython and Jupyter
        printer.text(str(self))
