"""Loading the recorded cases (read in place: no case data is ever copied into the project).

Each `<folder>__<module>.json` under PARITY_CASES holds `{"cases": [...]}`; the folder's
README.md explains the fields. A case's area is the folder part of its id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testbed import settings

ENV_VAR = "PARITY_CASES"
DEFAULT_DIR = settings.ROOT.parent / "shared" / "parity" / "cases"
NOT_CASE_FILES = {"SOURCE.json"}


class CasesMissing(RuntimeError):
    """The cases folder is absent or holds no case; the message names PARITY_CASES."""


@dataclass(frozen=True)
class Case:
    id: str
    type: str
    definition: dict[str, Any]
    input: str
    state_machine_name: str
    execution_name: str
    resources: list[dict[str, Any]]
    replacements: list[tuple[str, str]]
    wildcards: list[str]
    expected: dict[str, Any]

    @property
    def area(self) -> str:
        return self.id.split("/", 1)[0] if "/" in self.id else "other"


def cases_dir(value: str | None = None) -> Path:
    """The folder given (the argument, or the configuration's PARITY_CASES; else ../shared/parity/cases), checked."""
    raw = value
    folder = Path(raw) if raw else DEFAULT_DIR
    if not folder.is_dir():
        where = f"{ENV_VAR}={raw}" if raw else f"the default {DEFAULT_DIR}"
        raise CasesMissing(
            f"no parity cases folder: {where} does not exist. Point {ENV_VAR} at the folder of "
            f"recorded cases (the *.json files beside its README.md): {ENV_VAR}=/path/to/cases make parity"
        )
    return folder


def from_dict(raw: dict[str, Any]) -> Case:
    return Case(
        id=raw["id"], type=raw.get("type", "STANDARD"), definition=raw["definition"], input=raw.get("input") or "{}",
        state_machine_name=raw["state_machine_name"], execution_name=raw["execution_name"],
        resources=list(raw.get("resources") or []),
        replacements=[(str(a), str(b)) for a, b in raw.get("replacements") or []],
        wildcards=list(raw.get("wildcards") or []), expected=raw["expected"],
    )


def load(folder: Path) -> list[Case]:
    """Every case of every case file, sorted by id."""
    found: list[Case] = []
    for path in sorted(folder.glob("*.json")):
        if path.name in NOT_CASE_FILES:
            continue
        try:
            found.extend(from_dict(raw) for raw in json.loads(path.read_text(encoding="utf-8"))["cases"])
        except (ValueError, KeyError, TypeError) as error:
            raise CasesMissing(f"{path} is not a parity case file ({error!r}); check {ENV_VAR}") from error
    if not found:
        raise CasesMissing(f"{folder} holds no case file (*.json with \"cases\"); check {ENV_VAR}")
    return sorted(found, key=lambda case: case.id)
