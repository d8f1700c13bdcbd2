"""A self-contained HTML report of saved runs: one file, charts inlined, no server and no CDN.

It holds the leaderboard of each set of items (table and bar chart), then for every run its
scatter and error-trend chart, its worst-priced items and its failures. Every piece of text from
the runs (titles, failure messages) is escaped, since it comes from product data and model replies.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pricebench._version import __version__
from pricebench.compare.charts import cost_chart, has_paid_runs, leaderboard_chart, run_chart
from pricebench.compare.groups import category_table
from pricebench.compare.paired import Board, Leaderboard, leaderboard
from pricebench.compare.reference import NOT_MEASURED, reference_boards, reference_source
from pricebench.redact import redact
from pricebench.results import Results
from pricebench.results import money as plain_money

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.worse td { color: #888; } tr.best td { font-weight: 600; }
img { max-width: 100%; } .meta { color: #666; font-size: 0.9em; }
.reference { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 1em; }
.failure { color: #a00; font-family: monospace; }
small { color: #666; }
dl.params { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em;
            font-size: 0.9em; margin: 0 0 1em; }
dl.params dt { font-family: monospace; color: #555; } dl.params dd { margin: 0; }
"""


def html_report(
    runs: Sequence[Results],
    path: str | Path | None = None,
    *,
    worst: int = 10,
    reference: bool = False,
    title: str = "pricebench report",
) -> str:
    """The report as one HTML string; also written to `path` when given."""
    board = leaderboard(runs)
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{len(runs)} run(s), made with pricebench {escape(__version__)}, '
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC</p>",
        _leaderboard_section(board),
    ]
    if reference:
        parts.append(_reference_section())
    parts.extend(_run_section(row.run, row.label, worst) for b in board for row in b.rows)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def _leaderboard_section(board: Leaderboard) -> str:
    parts = ["<h2>Leaderboard</h2>"]
    if len(board) > 1:
        parts.append(
            "<p>These runs were made on different items, so each set of items has its own "
            "table; runs on different items are not ranked against each other.</p>"
        )
    for b in board:
        parts.append(_board_table(b))
        if b.best is not None:
            parts.append(_png(leaderboard_chart(b), f"leaderboard of {b.dataset}"))
            if has_paid_runs(b):  # else every point sits at $0
                parts.append(_png(cost_chart(b), f"error against cost on {b.dataset}"))
        parts.append(_category_table(b))
    return "\n".join(parts)


def _category_table(board: Board) -> str:
    """Mean error per category of each run of `board` (empty when items have no category)."""
    runs = [row.run for row in board.rows]
    rows = category_table(runs)
    if not rows:
        return ""
    c = board.currency
    head = "".join(f"<th>{_safe(row.label)}</th>" for row in board.rows)
    body = []
    for category, scores in rows:
        cells = "".join(
            "<td></td>"
            if s is None
            else _cell(
                f"{money(s.mean_error, c)} <small>n={s.n}</small>",
                f"{s.mean_error_ci.low:,.2f}, {s.mean_error_ci.high:,.2f}",
            )
            for s in scores
        )
        body.append(f"<tr><td>{_safe(category)}</td>{cells}</tr>")
    return (
        "<table><caption>mean error per category [95% CI] (failures at the fallback guess)"
        f"</caption><tr><th>category</th>{head}</tr>{''.join(body)}</table>"
    )


def _board_table(board: Board) -> str:
    c = board.currency
    head = (
        "<tr><th>#</th><th>pricer</th><th>mean error [95% CI]</th><th>RMSLE [95% CI]</th>"
        "<th>hit rate [95% CI]</th><th>priced</th><th>API cost</th><th>time</th>"
        "<th>vs best [95% CI]</th><th>p</th><th></th></tr>"
    )
    rows = []
    for row in board.rows:
        s, run = row.scores, row.run
        v = row.vs_best
        if s is None:
            rows.append(
                f'<tr class="worse"><td class="num">-</td><td>{_safe(row.label)}</td>'
                f'<td colspan="3"></td><td class="num">{row.coverage}</td>'
                f'<td class="num">{_safe(run.cost_text())}</td><td colspan="3"></td>'
                f"<td>{_safe(row.note)}</td></tr>"
            )
            continue
        p_value = "" if v is None else f"{v.p_value:.3g}"
        versus = "<td></td>"
        if v is not None:
            versus = _cell(f"{v.difference:+,.2f}", f"{v.ci.low:+,.2f}, {v.ci.high:+,.2f}")
        verdict = "best" if row is board.best else ("worse" if row.worse_than_best else "")
        verdict = "; ".join(part for part in (verdict, row.note) if part)
        seconds = row.seconds
        css = "best" if row.rank == 1 else ("worse" if row.worse_than_best else "")
        rows.append(
            f'<tr class="{css}"><td class="num">{row.rank or "-"}</td><td>{_safe(row.label)}</td>'
            + _cell(
                money(s.mean_error, c), f"{s.mean_error_ci.low:,.2f}, {s.mean_error_ci.high:,.2f}"
            )
            + _cell(f"{s.rmsle:.2f}", f"{s.rmsle_ci.low:.2f}, {s.rmsle_ci.high:.2f}")
            + _cell(f"{s.hit_rate:.1%}", f"{s.hit_rate_ci.low:.1%}, {s.hit_rate_ci.high:.1%}")
            + f'<td class="num">{row.coverage}</td>'
            f'<td class="num">{_safe(run.cost_text())}</td>'
            f'<td class="num">{"" if seconds is None else f"{seconds:,.1f} s"}</td>'
            + versus
            + f'<td class="num">{p_value}</td><td>{_safe(verdict)}</td></tr>'
        )
    caption = (
        f"{escape(board.dataset or '(unnamed data)')}: {board.n_items} items, "
        f"data fingerprint {escape(board.fingerprint)}"
    )
    table = f"<table><caption>{caption}</caption>{head}{''.join(rows)}</table>"
    if any(row.run.n_failed for row in board.rows):
        table += (
            '<p class="meta">Runs are ranked on every item they were asked: a failed item counts '
            "as the fallback guess (the training mean, what the constant pricer says), in the "
            "figures and in the paired tests. A run that did not attempt every item is listed, "
            "not ranked.</p>"
        )
    return table


def _cell(value: str, interval: str) -> str:
    """A number with its 95% interval in small type below it, to keep the table narrow."""
    return f'<td class="num">{value}<br><small>[{interval}]</small></td>'


def _reference_section() -> str:
    parts = [
        "<h2>Course reference figures</h2>",
        f'<div class="reference"><p><strong>{escape(NOT_MEASURED.capitalize())}.</strong> '
        f"Source: {escape(reference_source())}. "
        "Compare them with your runs only loosely: different items, different sizes.</p>",
    ]
    for ref in reference_boards():
        rows = "".join(
            f"<tr><td>{escape(r.pricer)}</td><td class='num'>{money(r.mean_error, ref.currency)}"
            f"</td><td class='num'>{'' if r.rmsle is None else f'{r.rmsle:.2f}'}</td>"
            f"<td class='num'>{'' if r.hit_rate is None else f'{r.hit_rate:.1%}'}</td>"
            f"<td class='num'>{r.n or ref.n}</td></tr>"
            for r in ref.sorted_rows()
        )
        parts.append(
            f"<table><caption>{escape(ref.edition)} edition: {escape(ref.dataset)}; "
            f"{escape(ref.note)}</caption><tr><th>pricer</th><th>mean error</th><th>RMSLE</th>"
            f"<th>hit rate</th><th>N</th></tr>{rows}</table>"
        )
    parts.append("</div>")
    return "\n".join(parts)


def money(amount: float, currency: str) -> str:
    """An amount with its currency, escaped: a run.json from elsewhere may name any currency."""
    return escape(plain_money(amount, currency))


def _safe(text: str) -> str:
    """Text from a run, escaped, and redacted again: runs saved by older versions were not."""
    return escape(redact(text))


def _run_section(run: Results, label: str, worst: int) -> str:
    h = run.header
    parts = [
        f"<h2>{_safe(label)}</h2>",
        f'<p class="meta">{_safe(h.dataset)}, {h.n_items} items, status {escape(h.status)}'
        f"{', ' + _safe(h.note) if h.note else ''}; started {escape(h.started_at)}; "
        f"hit: error under {money(h.tolerance.absolute, h.currency)} or under "
        f"{h.tolerance.relative:.0%} of the price</p>",
        _params_list(h.params),
        f"<p>{_safe(run.summary())}</p>",
    ]
    if run.priced:
        parts.append(_png(run_chart(run), f"charts of {redact(label)}"))
        parts.append(_worst_table(run, worst))
    if run.failures:
        items = "".join(
            f"<li>{escape(r.title[:80])}: <span class='failure'>{_safe(r.failure or '')}</span>"
            "</li>"
            for r in run.failures
        )
        parts.append(f"<h3>Failures ({len(run.failures)})</h3><ul>{items}</ul>")
    else:
        parts.append("<p>No failures.</p>")
    return "\n".join(parts)


def _params_list(params: dict[str, Any]) -> str:
    """The run's parameters as a key / value list, nested values as compact JSON."""
    if not params:
        return '<p class="meta">parameters: none</p>'
    rows = "".join(
        f"<dt>{_safe(str(key))}</dt><dd>{_safe(_value(value))}</dd>"
        for key, value in sorted(params.items())
    )
    return f'<dl class="params">{rows}</dl>'


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _worst_table(run: Results, worst: int) -> str:
    c = run.header.currency
    records = sorted(run.priced, key=lambda r: r.error or 0.0, reverse=True)[:worst]
    rows = "".join(
        f"<tr><td>{escape(r.title[:90])}</td><td class='num'>{money(r.truth, c)}</td>"
        f"<td class='num'>{money(r.guess or 0.0, c)}</td>"
        f"<td class='num'>{money(r.error or 0.0, c)}</td></tr>"
        for r in records
    )
    return (
        f"<h3>Worst {len(records)} items</h3><table><tr><th>item</th><th>truth</th>"
        f"<th>guess</th><th>error</th></tr>{rows}</table>"
    )


def _png(figure: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'
