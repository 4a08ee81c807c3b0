"""A recording on disk: <dir>/mappings/<name>-<id>.json (WireMock's layout) and <dir>/<dir name>.har.

Written whole or not at all (a staging folder renamed into place), and only after every text was
scanned for the run's secrets: a hit refuses the write, naming the file, never the value.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from testbed.errors import TestbedError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class RecordingFileError(TestbedError):
    """A recording cannot be written or read; the message names the folder or file."""


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise RecordingFileError(f"recording name {name!r} must be 1-100 of A-Z a-z 0-9 . _ - (a folder name)",
                                 hint="e.g. --name orders-api")
    return name


def har_path(folder: Path) -> Path:
    return folder / f"{folder.name}.har"


def recording_texts(mappings: list[dict[str, Any]], har: dict[str, Any]) -> dict[str, str]:
    """Relative file name -> text, for each file a recording writes."""
    texts = {f"mappings/{item.get('name', 'mapping')}-{item['id']}.json": json.dumps(item, indent=2) + "\n"
             for item in mappings}
    texts["HAR"] = json.dumps(har, indent=2) + "\n"
    return texts


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (key, *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [json.dumps(value)]


def leaks(texts: dict[str, str], forms: list[str]) -> list[str]:
    """The files that hold any of `forms` (the names only: never which value): in the text as
    written, or in any string of its JSON once unescaped (JSON writes a form's \\ and "\u00e4" anew)."""
    found = []
    for name, text in texts.items():
        try:
            strings = _strings(json.loads(text))
        except ValueError:
            strings = []
        if any(form in candidate for form in forms for candidate in (text, *strings)):
            found.append(name)
    return sorted(found)


def write_recording(folder: Path, mappings: list[dict[str, Any]], har: dict[str, Any], forms: list[str]) -> list[Path]:
    texts = recording_texts(mappings, har)
    leaked = leaks(texts, forms)
    if leaked:
        raise RecordingFileError(f"not written: {', '.join(leaked)} would hold a secret in clear",
                                 hint="scrub it: --scrub-header, --scrub-json-path or --scrub-query "
                                      "(docs/recording.md)")
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "mappings").mkdir(parents=True)
    for name, text in texts.items():
        path = staging / f"{folder.name}.har" if name == "HAR" else staging / name
        path.write_text(text, encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file())


def read_har(folder: Path) -> dict[str, Any]:
    path = har_path(folder)
    try:
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RecordingFileError(f"{path}: cannot read the recording's HAR file: {exc}",
                                 hint="record it first: `testbed record --target URL`, "
                                      "then `--stop --name NAME`") from exc
    return found
