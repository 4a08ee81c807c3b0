"""The committed baseline: the cases that matched, as hashes of their ids (no case data).

One line per matched case: the first 16 hex digits of the SHA-256 of its id, sorted. A case
in the baseline that no longer matches is a regression; one that newly matches is progress
(`make parity-baseline` records it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

HASH_CHARS = 16
HEADER = (
    "# Parity cases that matched AWS on this backend: sha256(case id)[:16], sorted.\n"
    "# Written by `make parity-baseline`; `make parity` fails when one of them stops matching.\n"
)


def case_hash(case_id: str) -> str:
    return hashlib.sha256(case_id.encode("utf-8")).hexdigest()[:HASH_CHARS]


def read(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def updated(baseline: set[str], ran_ids: Iterable[str], matched_ids: Iterable[str]) -> set[str]:
    """The baseline after a run: the cases that ran are replaced by their result, the others kept."""
    return (baseline - {case_hash(i) for i in ran_ids}) | {case_hash(i) for i in matched_ids}


def write(path: Path, hashes: set[str]) -> None:
    path.write_text(HEADER + "".join(f"{h}\n" for h in sorted(hashes)), encoding="utf-8")


@dataclass(frozen=True)
class Change:
    regressions: list[str]  # case ids in the baseline that no longer match
    progress: list[str]  # case ids that match and are not in the baseline


def diff(baseline: set[str], ran_ids: Iterable[str], matched_ids: Iterable[str]) -> Change:
    """Only the cases that ran are judged: a run of a subset says nothing about the others."""
    matched = set(matched_ids)
    ran = sorted(set(ran_ids))
    return Change(
        regressions=[i for i in ran if case_hash(i) in baseline and i not in matched],
        progress=[i for i in ran if i in matched and case_hash(i) not in baseline],
    )
