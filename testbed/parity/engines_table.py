"""The docs' cross-engine table: per behaviour (a module of recorded cases), what AWS did and how
many cases each engine matches, from the committed baselines (`make parity-baseline` per engine).

Regenerated, never typed: `make parity-engines PARITY_ARGS=--write-docs` writes it into
docs/localstack.md between the markers below; tests/unit/test_parity_engines_table.py fails when
the committed table is not what the baselines and the cases give.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from testbed import settings
from testbed.parity import baseline
from testbed.parity.cases import Case

DOC = settings.ROOT / "docs" / "localstack.md"
BEGIN = "<!-- parity-engines:start -->"
END = "<!-- parity-engines:end -->"
BASELINES = {"MiniStack": Path(__file__).parent / "baseline-ministack.txt",
             "LocalStack": Path(__file__).parent / "baseline-localstack.txt"}


class StaleMarkers(ValueError):
    """The document lacks the markers the table goes between."""


@dataclass(frozen=True)
class Row:
    behaviour: str  # the cases' module, e.g. scenarios/test_base_scenarios
    aws: str  # what AWS did: statuses of the recorded executions
    cases: int
    ministack: int
    localstack: int
    only_ministack: int
    only_localstack: int
    neither: int


def behaviour(case: Case) -> str:
    return case.id.split("::", 1)[0].removesuffix(".py")


def rows(cases: list[Case], ministack: set[str], localstack: set[str]) -> list[Row]:
    """One row per behaviour, in order of name; the baselines are sets of hashed case ids."""
    grouped: dict[str, list[Case]] = {}
    for case in cases:
        grouped.setdefault(behaviour(case), []).append(case)
    table = []
    for name in sorted(grouped):
        hashes = [baseline.case_hash(case.id) for case in grouped[name]]
        statuses = Counter(str(case.expected.get("status", "?")) for case in grouped[name])
        in_ms = [h in ministack for h in hashes]
        in_ls = [h in localstack for h in hashes]
        table.append(Row(
            behaviour=name, aws=", ".join(f"{count} {status}" for status, count in sorted(statuses.items())),
            cases=len(hashes), ministack=sum(in_ms), localstack=sum(in_ls),
            only_ministack=sum(m and not ls for m, ls in zip(in_ms, in_ls, strict=True)),
            only_localstack=sum(ls and not m for m, ls in zip(in_ms, in_ls, strict=True)),
            neither=sum(not m and not ls for m, ls in zip(in_ms, in_ls, strict=True)),
        ))
    return table


def render(table: list[Row]) -> str:
    lines = ["| behaviour (recorded cases) | AWS recorded | MiniStack matches | LocalStack matches | "
             "only MiniStack | only LocalStack | neither |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in table:
        lines.append(f"| `{r.behaviour}` | {r.aws} | {r.ministack}/{r.cases} | {r.localstack}/{r.cases} | "
                     f"{r.only_ministack} | {r.only_localstack} | {r.neither} |")
    total = sum(r.cases for r in table)
    lines.append(f"| **all** | {total} executions | {sum(r.ministack for r in table)}/{total} | "
                 f"{sum(r.localstack for r in table)}/{total} | {sum(r.only_ministack for r in table)} | "
                 f"{sum(r.only_localstack for r in table)} | {sum(r.neither for r in table)} |")
    return "\n".join(lines)


def from_baselines(cases: list[Case]) -> str:
    return render(rows(cases, baseline.read(BASELINES["MiniStack"]), baseline.read(BASELINES["LocalStack"])))


def committed(text: str) -> str:
    """The table between the markers of a document's text."""
    if BEGIN not in text or END not in text:
        raise StaleMarkers(f"{DOC.name} has no {BEGIN!r} ... {END!r} markers")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def write(cases: list[Case], doc: Path = DOC) -> bool:
    """Write the table between the markers; True when the document changed."""
    text = doc.read_text(encoding="utf-8")
    old = committed(text)
    new = from_baselines(cases)
    if old == new:
        return False
    before, rest = text.split(BEGIN, 1)
    doc.write_text(f"{before}{BEGIN}\n{new}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")
    return True
