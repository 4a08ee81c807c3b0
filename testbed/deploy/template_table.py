"""The template items in the table: written where they differ from the files, deleted where a
folder's file is gone, all or nothing.

Each item the seed writes names its file in SEEDED_FROM ("<folder>/<file>", `folder_name`). A
seed of a folder deletes the items whose SEEDED_FROM is that folder and the file its key would
have (`<name>.<METHOD>.<suffix>`), when the folder has no file for that key any more. Items
written by anything else (no SEEDED_FROM, or one that does not match their key) are never deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from testbed import settings
from testbed.deploy.templates import SEEDED_FROM, TEMPLATE_SUFFIXES, TemplateFile
from testbed.errors import TestbedError

Key = tuple[str, str]  # (name, method): the item's PK and SK


class ChangedMeanwhile(TestbedError):
    """Another writer changed an item this seed was deleting; nothing of this seed was written."""


@dataclass
class TableReport:
    changed: list[str] = field(default_factory=list)  # "template NAME METHOD: created (FILE)", ...
    unchanged: list[str] = field(default_factory=list)


def folder_name(templates_dir: Path, source_root: Path = settings.ROOT) -> str:
    """The name items give the folder they were seeded from: its path in the source tree (this
    checkout, a copy of the tree, and the docker image all say `seed/templates`, so they share
    their items), else its full path (a folder of its own, e.g. a test's)."""
    directory = templates_dir.resolve()
    for root in (source_root.resolve(), settings.ROOT):
        if directory.is_relative_to(root):
            return directory.relative_to(root).as_posix()
    return directory.as_posix()


def put_templates(dynamodb: Any, template_files: Iterable[TemplateFile], *, folder: str | None = None) -> TableReport:
    """Upsert the templates that differ from the stored items and, with `folder` (the name the
    files' SEEDED_FROM carries), delete that folder's items whose file is gone.

    Every item is read and compared first; the changes are then written in TransactWriteItems
    (DynamoDB's limits: 100 items and 4 MB per transaction; more changes take several, and when
    one fails, those before it are undone). A write DynamoDB refuses therefore leaves every
    template as it was.
    """
    report = TableReport()
    files = list(template_files)
    puts: list[_Write] = []
    for template_file in files:
        stored = dynamodb.get_item(
            TableName=settings.TABLE_NAME, Key=_key(template_file.key), ConsistentRead=True).get("Item")
        if _same(stored, template_file.item):
            report.unchanged.append(f"template {template_file.key[0]} {template_file.key[1]}")
        else:
            what = "updated" if stored else "created"
            puts.append(_Write(template_file.key, template_file.item, stored, f"{what} ({template_file.path.name})"))
    deletes = [] if folder is None else _deletes(dynamodb, folder, {f.key for f in files})
    _write_all(dynamodb, deletes + puts)  # deletes first: a put refused after them undoes them too
    report.changed += [f"template {write.key[0]} {write.key[1]}: {write.what}" for write in puts + deletes]
    return report


def owner_changes(stored: str | None, new: str) -> bool:
    """Whether an item whose template is unchanged is written again for its SEEDED_FROM alone.

    Yes when it has none (written before the seed named files), when its file in the same folder
    was renamed, and when a folder of a source tree (`seed/templates`) meets an item last written
    from a folder outside one (a test's, a scratch copy), which may be gone: otherwise deleting
    the file would delete nothing. No for two folders of the same kind: a copy seeding the same
    template leaves the item to the folder that wrote it, and no two seeds take it in turns.
    """
    if stored is None:
        return True
    stored_folder, new_folder = stored.rpartition("/")[0], new.rpartition("/")[0]
    if stored_folder == new_folder:
        return stored != new
    return stored_folder.startswith("/") and not new_folder.startswith("/")


@dataclass(frozen=True)
class _Write:
    key: Key
    item: dict[str, Any] | None  # None: delete
    stored: dict[str, Any] | None  # the item read before: a delete requires it unchanged; an undo puts it back
    what: str

    def operation(self) -> dict[str, Any]:
        if self.item is not None:
            return {"Put": {"TableName": settings.TABLE_NAME, "Item": self.item}}
        delete: dict[str, Any] = {"TableName": settings.TABLE_NAME, "Key": _key(self.key)}
        if self.stored is not None:  # nothing wrote the item since the scan (another seed, a test)
            delete |= {"ConditionExpression": "#from = :seen", "ExpressionAttributeNames": {"#from": SEEDED_FROM},
                       "ExpressionAttributeValues": {":seen": self.stored[SEEDED_FROM]}}
        return {"Delete": delete}

    def undo(self) -> _Write:
        return _Write(self.key, self.stored, None, "put back")


def _same(stored: dict[str, Any] | None, item: dict[str, Any]) -> bool:
    if stored is None or stored == item:
        return stored == item
    if _without_owner(stored) != _without_owner(item):
        return False
    if SEEDED_FROM not in item:
        return SEEDED_FROM not in stored
    return not owner_changes(_owner(stored), item[SEEDED_FROM]["S"])


def _owner(item: dict[str, Any]) -> str | None:
    value = item.get(SEEDED_FROM, {})
    return value.get("S") if isinstance(value, dict) else None


def _without_owner(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name != SEEDED_FROM}


def _deletes(dynamodb: Any, folder: str, kept: set[Key]) -> list[_Write]:
    """The folder's items whose file is gone: SEEDED_FROM names the file their key would have."""
    deletes = []
    for stored in _items_of(dynamodb, folder):
        key: Key = (stored["PK"]["S"], stored["SK"]["S"])
        own_files = {f"{folder}/{key[0]}.{key[1]}{suffix}" for suffix in TEMPLATE_SUFFIXES}
        if key not in kept and stored[SEEDED_FROM]["S"] in own_files:  # the exact text the seed writes
            file_name = stored[SEEDED_FROM]["S"].rpartition("/")[2]
            deletes.append(_Write(key, None, stored, f"deleted ({file_name} is gone)"))
    return deletes


def _items_of(dynamodb: Any, folder: str) -> Iterator[dict[str, Any]]:
    """The stored items whose SEEDED_FROM names a file directly in `folder`."""
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=settings.TABLE_NAME, ConsistentRead=True, FilterExpression="begins_with(#from, :folder)",
        ExpressionAttributeNames={"#from": SEEDED_FROM}, ExpressionAttributeValues={":folder": {"S": f"{folder}/"}})
    for page in pages:
        for item in page["Items"]:
            if "/" not in item[SEEDED_FROM]["S"].removeprefix(f"{folder}/"):
                yield item


def _key(key: Key) -> dict[str, Any]:
    return {"PK": {"S": key[0]}, "SK": {"S": key[1]}}


def _write_all(dynamodb: Any, writes: list[_Write]) -> None:
    """All the writes or none: a transaction DynamoDB refuses undoes the ones before it."""
    done: list[_Write] = []
    batch: list[_Write] = []
    try:
        for batch in _transactions(writes):
            dynamodb.transact_write_items(TransactItems=[write.operation() for write in batch])
            done += batch
    except Exception as exc:
        for undo in _transactions([write.undo() for write in done]):
            dynamodb.transact_write_items(TransactItems=[write.operation() for write in undo])
        changed = _changed_meanwhile(exc, batch)
        if changed:
            raise ChangedMeanwhile(
                f"{', '.join(f'template {name} {method}' for name, method in changed)} changed while this seed "
                "was deleting it (another seed?); nothing was written: run it again") from exc
        raise


def _changed_meanwhile(exc: Exception, batch: list[_Write]) -> list[Key]:
    """The keys whose delete condition failed, if that is why DynamoDB cancelled the transaction."""
    if not isinstance(exc, ClientError) or exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    reasons = exc.response.get("CancellationReasons", [])
    return [write.key for write, reason in zip(batch, reasons, strict=False)
            if reason.get("Code") == "ConditionalCheckFailed"]


_TRANSACTION_ITEMS = 100
_TRANSACTION_BYTES = 4 * 1024 * 1024


def _transactions(writes: list[_Write]) -> list[list[_Write]]:
    batches: list[list[_Write]] = []
    size = 0
    for write in writes:
        item_bytes = len(json.dumps(write.item or write.key))  # an upper bound of DynamoDB's own count
        if not batches or len(batches[-1]) >= _TRANSACTION_ITEMS or size + item_bytes > _TRANSACTION_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(write)
        size += item_bytes
    return batches
