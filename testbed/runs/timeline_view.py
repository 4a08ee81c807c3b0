"""Render a Timeline for a person with rich (colour only on a terminal), or list executions.

Every string that comes from an execution, a log or the mock API goes through `_text`
(inert.py): a rich `Text`, never markup, with control characters shown as escapes.
"""

from __future__ import annotations

import json
from typing import IO, Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from testbed.runs.inert import inert
from testbed.runs.timeline import HttpExchange, Timeline

_STATUS_STYLE = {"SUCCEEDED": "green", "FAILED": "red", "TIMED_OUT": "red", "ABORTED": "yellow", "RUNNING": "cyan"}
_OUTCOME_STYLE = {"succeeded": "green", "failed": "red", "timed out": "red", "running": "cyan"}


PIPE_WIDTH = 120  # rich assumes 80 columns off a terminal; logs and ARNs read better wider


def console(file: IO[str] | None = None) -> Console:
    """Colour and styles only when writing to a terminal (rich checks isatty; NO_COLOR is honoured)."""
    probe = Console(file=file)
    return Console(file=file, highlight=False, width=None if probe.is_terminal else PIPE_WIDTH)


def _text(value: object, style: str = "") -> Text:
    return Text(inert(value), style=style)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.0f}ms"


def _offset(value: float | None) -> str:
    return "" if value is None else f"+{_ms(value)}"


def render(timeline: Timeline, out: Console) -> None:
    status = _text(timeline.status, _STATUS_STYLE.get(timeline.status, ""))
    header = Text.assemble(
        ("Execution ", "bold"), _text(timeline.name, "bold"), "  ", status,
        f"  {_ms(timeline.duration_ms)}" if timeline.duration_ms is not None else "",
    )
    out.print(header)
    for label, value in (("template", f"{timeline.template or '?'} {timeline.method or ''}".rstrip()),
                         ("started", timeline.started_at), ("trace id", timeline.trace_id),
                         ("arn", timeline.execution_arn)):
        out.print(Text.assemble(f"  {label:<10} ", _text(value)), soft_wrap=True)
    for note in timeline.notes:
        out.print(Text.assemble(("  note       ", "yellow"), _text(note)), soft_wrap=True)
    out.print()
    out.print(_states_table(timeline))
    if timeline.attempts:
        out.print(_attempts_table(timeline))
    out.print(_logs_panel(timeline))
    out.print(_exchanges_panel(timeline.exchanges))
    out.print(_result_panel(timeline))


def _states_table(timeline: Timeline) -> Table:
    table = Table(title="States", title_justify="left", expand=False)
    table.add_column("start", justify="right")
    table.add_column("state")
    table.add_column("type")
    table.add_column("duration", justify="right")
    for span in timeline.states:
        duration = _ms(span.duration_ms) if span.duration_ms is not None else "(end)"
        table.add_row(_offset(span.start_ms), _text(span.name), _text(span.type), duration)
    return table


def _attempts_table(timeline: Timeline) -> Table:
    table = Table(title="Lambda attempts", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("start", justify="right")
    table.add_column("duration", justify="right")
    table.add_column("outcome")
    table.add_column("error / cause", overflow="fold")
    table.add_column("backoff", justify="right")
    for attempt in timeline.attempts:
        outcome = _text(attempt.outcome, _OUTCOME_STYLE.get(attempt.outcome, ""))
        error = _text(f"{attempt.error}: {attempt.cause}" if attempt.error else "")
        backoff = _ms(attempt.backoff_ms) if attempt.backoff_ms is not None else ""
        table.add_row(str(attempt.number), _offset(attempt.start_ms), _ms(attempt.duration_ms), outcome, error, backoff)
    return table


def _logs_panel(timeline: Timeline) -> Panel:
    if timeline.logs is None:
        body: Any = Text("(CloudWatch Logs could not be read)", style="dim")
    elif not timeline.logs:
        body = Text(f"(no Lambda log line carries trace id {timeline.trace_id} or the execution ARN)", style="dim")
    else:
        body = _text("\n".join(f"{_offset(line.offset_ms):>9}  {line.message}" for line in timeline.logs))
    return Panel(body, title="Lambda log (CloudWatch Logs)", title_align="left")


def _exchanges_panel(exchanges: list[HttpExchange] | None) -> Panel:
    if exchanges is None:
        return Panel(Text("(no mock API to ask: pass --mockapi URL or set TESTBED_MOCKAPI_URL)", style="dim"),
                     title="HTTP exchange", title_align="left")
    if not exchanges:
        return Panel(Text("(the mock API journal has no request with this trace id)", style="dim"),
                     title="HTTP exchange", title_align="left")
    parts: list[Any] = []
    for exchange in exchanges:
        status = exchange.fault or (str(exchange.status) if exchange.status is not None else "no answer")
        style = "green" if exchange.status is not None and 200 <= exchange.status < 300 else "red"
        parts.append(Text.assemble(
            (f"{_offset(exchange.offset_ms):>9}  ", ""), _text(f"{exchange.method} {exchange.url}", "bold"),
            "  -> ", _text(status, style), f"  ({_ms(exchange.elapsed_ms)} at the mock API)",
        ))
        parts.append(_text(_headers_and_body("  > ", exchange.request_headers, exchange.request_body), "dim"))
        parts.append(_text(_headers_and_body("  < ", exchange.response_headers, exchange.response_body), "dim"))
    return Panel(Group(*parts), title="HTTP exchange (mock API journal)", title_align="left")


def _headers_and_body(prefix: str, headers: dict[str, str], body: str) -> str:
    lines = [f"{prefix}{name}: {value}" for name, value in headers.items()]
    if body:
        lines.append(f"{prefix}")
        lines.extend(f"{prefix}{line}" for line in body.split("\n"))  # not splitlines: it hides \r, \x0b, \u2028
    return "\n".join(lines)


def _result_panel(timeline: Timeline) -> Panel:
    if timeline.status == "SUCCEEDED":
        body = _text(json.dumps(timeline.output, indent=2, ensure_ascii=False, default=str))
        return Panel(body, title="Output", title_align="left", border_style="green")
    if timeline.error or timeline.cause:
        body = Text.assemble(_text(timeline.error or "", "bold red"), "\n", _text(timeline.cause or ""))
        return Panel(body, title="Error / Cause", title_align="left", border_style="red")
    return Panel(_text(timeline.status), title="Result", title_align="left")


def render_executions(rows: list[dict[str, Any]], out: Console) -> None:
    table = Table(title="Recent executions (newest first)", title_justify="left")
    table.add_column("name", overflow="fold")  # whole, never cut with "…": it is what `testbed show` takes
    table.add_column("status")
    table.add_column("started (UTC)")
    table.add_column("duration", justify="right")
    table.add_column("template")
    for row in rows:
        status = _text(row["status"], _STATUS_STYLE.get(row["status"], ""))
        started = _text(str(row["startedAt"])[:19].replace("T", " "))
        table.add_row(_text(row["name"]), status, started, _ms(row["durationMs"]), _text(row["template"] or ""))
    out.print(table)
