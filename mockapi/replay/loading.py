"""Mappings to replay from files: WireMock mapping folders and HAR 1.2 files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mockapi.fields import StubError
from mockapi.har import HarError, exchanges
from mockapi.recording.builder import build_mappings
from mockapi.recording.spec import RecordSpec
from mockapi.replay.mappings import MappingFileError, StubMapping, load_mappings_dir, parse_mapping


class ReplayFileError(Exception):
    """A mappings folder or HAR file cannot be loaded; the message names the file and the problem."""


def load_har(path: Path) -> list[StubMapping]:
    """A HAR file's entries as mappings, by the recorder's rules (repeats become scenarios)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        items = build_mappings(exchanges(document), RecordSpec())[0]
        return [parse_mapping(item, f"log.entries mapping {index}") for index, item in enumerate(items)]
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, HarError, StubError) as exc:
        raise ReplayFileError(f"{path}: {exc}") from exc


def load_replay(folders: Sequence[Path], har_files: Sequence[Path]) -> list[StubMapping]:
    found: list[StubMapping] = []
    for folder in folders:
        try:
            found.extend(load_mappings_dir(folder))
        except MappingFileError as exc:
            raise ReplayFileError(str(exc)) from exc
    for path in har_files:
        found.extend(load_har(path))
    return found
