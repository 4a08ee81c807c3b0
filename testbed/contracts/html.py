"""The contract report as one self-contained HTML page: a table per operation. No script."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from testbed.contracts import report
from testbed.contracts.report import ContractReport

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; }
tr.uncalled td { background: #fff8e1; } tr.violating td { background: #ffebee; }
"""


def page(contract: ContractReport) -> str:
    rows = "".join(
        f'<tr class="{"violating" if row.violations else "uncalled" if not row.templates else ""}">'
        f"<td>{escape(row.document)}</td><td>{escape(row.operation)}</td>"
        f"<td>{escape(row.method)} {escape(row.path)}</td>"
        f"<td>{escape(', '.join(row.templates)) or '<em>no template</em>'}</td><td class=\"n\">{row.requests}</td>"
        f"<td>{''.join(f'<div>{escape(m)} ({n})</div>' for m, n in row.violations.most_common())}</td></tr>"
        for row in contract.rows
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Contract report</title>
<style>{_STYLE}</style></head><body>
<h1>Contract report</h1>
<p><strong>{escape(contract.summary_line())}</strong></p>
<table><tr><th>document</th><th>operation</th><th>request</th><th>templates</th><th>requests</th>
<th>violations (requests)</th></tr>{rows}</table>
</body></html>
"""


def write(contract: ContractReport, directory: Path) -> Path:
    """Write the JSON and the HTML report; return the HTML's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / report.JSON_FILE).write_text(json.dumps(contract.to_dict(), indent=2), encoding="utf-8")
    html_path = directory / report.HTML_FILE
    html_path.write_text(page(contract), encoding="utf-8")
    return html_path
