"""JSON-lines records of a pytest run, shared by the coverage and contract plugins.

The controller appends records to a data file; an xdist worker keeps them in memory and hands
them to the controller when it finishes (`workeroutput`), so each report is written once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class RecordSink:
    """Appends JSON lines to `data_file`, or (no data file: an xdist worker) keeps them."""

    def __init__(self, data_file: Path | None) -> None:
        self.data_file = data_file
        self.count = 0
        self.kept: list[str] = []
        if data_file is not None:
            data_file.parent.mkdir(parents=True, exist_ok=True)
            data_file.write_text("")  # this run's records only

    def add(self, lines: list[str]) -> None:
        if self.data_file is None:
            self.kept += lines
        else:
            with self.data_file.open("a", encoding="utf-8") as data:
                data.writelines(line + "\n" for line in lines)
        self.count += len(lines)

    def take_from_worker(self, node: Any, key: str) -> None:
        """xdist controller: a worker finished; add its records to the run's."""
        lines = getattr(node, "workeroutput", {}).get(key, [])
        if lines:
            self.add(list(lines))

    def hand_to_controller(self, config: Any, key: str) -> bool:
        """In an xdist worker: give the kept records to the controller (True: the worker is done)."""
        if not hasattr(config, "workerinput"):
            return False
        config.workeroutput[key] = self.kept
        return True


def relative(path: Path) -> Path:
    """`path` as a person at the working directory would type it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
