"""The coverage report as one self-contained HTML page: summary, drawing, tables. No script."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from testbed.coverage import report, svg
from testbed.coverage.report import Coverage

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
td.n { text-align: right; }
tr.uncovered td { background: #ffebee; }
.legend span { display: inline-block; margin-right: 2em; }
.covered-mark { color: #2e7d32; } .uncovered-mark { color: #c62828; }
"""


def page(coverage: Coverage, asl_name: str) -> str:
    edge_totals = {edge_id: sum(c.values()) for edge_id, c in coverage.edges.items()}
    state_totals = {name: sum(c.values()) for name, c in coverage.states.items()}
    backends = coverage.backends
    head = "".join(f"<th>{escape(b)}</th>" for b in backends)
    state_rows = "".join(
        f'<tr class="{"covered" if state_totals[name] else "uncovered"}"><td>{escape(name)}</td>'
        f"<td>{escape(state.type)}</td>"
        + "".join(f'<td class="n">{coverage.states[name][b]}</td>' for b in backends) + "</tr>"
        for name, state in coverage.graph.states.items()
    )
    edge_rows = "".join(
        f'<tr class="{"covered" if edge_totals[e.id] else "uncovered"}"><td>{escape(e.source)}</td>'
        f"<td>{escape(e.label)}</td><td>{escape(e.target)}</td>"
        + "".join(f'<td class="n">{coverage.edges[e.id][b]}</td>' for b in backends) + "</tr>"
        for e in coverage.graph.edges
    )
    unexplained = "".join(f"<li>{escape(k)} ({v})</li>" for k, v in coverage.unexplained.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>State machine coverage: {escape(asl_name)}</title>
<style>{_STYLE}</style></head><body>
<h1>State machine coverage: {escape(asl_name)}</h1>
<p><strong>{escape(coverage.summary_line())}</strong></p>
<p class="legend"><span class="covered-mark">━ taken by at least one execution</span>
<span class="uncovered-mark">╍ never taken (red, dashed)</span></p>
{svg.draw(coverage.graph, edge_totals, state_totals)}
<h2>Transitions (executions that took each, per backend)</h2>
<table><tr><th>from</th><th>transition</th><th>to</th>{head}</tr>{edge_rows}</table>
<h2>States (executions that entered each, per backend)</h2>
<table><tr><th>state</th><th>type</th>{head}</tr>{state_rows}</table>
{f"<h2>Transitions not in the ASL</h2><ul>{unexplained}</ul>" if unexplained else ""}
</body></html>
"""


def write(coverage: Coverage, directory: Path, asl_name: str) -> Path:
    """Write the JSON and the HTML report; return the HTML's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / report.JSON_FILE).write_text(json.dumps(coverage.to_dict(), indent=2), encoding="utf-8")
    html_path = directory / report.HTML_FILE
    html_path.write_text(page(coverage, asl_name), encoding="utf-8")
    return html_path
