"""Seed a stack: deploy the CDK app's stack, then load the template items, idempotently.

Infrastructure comes from one place, the CDK app in infra/: `seed` synthesizes it (skipped
when unchanged, `testbed.synth`), deploys the assembly through the emulator's CloudFormation
(`testbed.deploy`), then writes the templates (data, not infrastructure). Everything is
validated before the first write (template files, the ASL file, the template), so a bad input
leaves the stack as it was. The item of a template file that was deleted is deleted too.
Deploys to one emulator are serialized by a file lock. A second run reports that nothing changed.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generic_api_call import destinations
from generic_api_call.errors import RenderError
from testbed import aws, deploy, settings, synth, templates


class SeedError(RuntimeError):
    """The stack is in a state the seed cannot reconcile (e.g. no table for --templates-only)."""


@dataclass
class SeedReport:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    state_machine_arn: str = ""

    def to_json(self) -> str:
        return json.dumps({"changed": self.changed, "unchanged": self.unchanged,
                           "stateMachineArn": self.state_machine_arn})

    @classmethod
    def from_json(cls, text: str) -> SeedReport:
        data = json.loads(text)
        return cls(changed=data["changed"], unchanged=data["unchanged"], state_machine_arn=data["stateMachineArn"])

    def lines(self) -> list[str]:
        lines = [f"  {line}" for line in self.changed]
        if not self.changed:
            lines.append(f"  nothing changed ({len(self.unchanged)} resources already up to date)")
        else:
            lines.append(f"  {len(self.changed)} changed, {len(self.unchanged)} unchanged")
        return lines


@dataclass(frozen=True)
class SeedConfig:
    api_base_url: str  # where the Lambda reaches the external API (the mock API locally)
    endpoint: str | None = None  # AWS endpoint; None: AWS_ENDPOINT_URL from the environment
    templates_dir: Path = settings.TEMPLATES_DIR
    templates_only: bool = False  # templates only; the stack must be deployed already
    assembly: Path | None = None  # a synthesized cloud assembly; None: synthesize infra/ (needs Node)
    source_root: Path = settings.ROOT  # the source tree whose infra/ is synthesized (tests: a copy)
    log_level: str = "INFO"
    lock_dir: Path | None = None  # where deploy locks live; None: <state dir>/locks


def validate(config: SeedConfig) -> list[templates.TemplateFile]:
    """Every template file, checked as the Lambda would use it; raises before any write."""
    template_files = templates.load_dir(config.templates_dir, folder_name(config.templates_dir, config.source_root))
    templates.check_destinations(template_files, config.api_base_url, allowed_hosts(config.api_base_url))
    return template_files


def seed(config: SeedConfig) -> SeedReport:
    template_files = validate(config)
    dynamodb = aws.client("dynamodb", endpoint=config.endpoint)
    report = SeedReport()
    with deploy_lock(config):
        if config.templates_only:
            _require_table(dynamodb)
        else:
            assembly = config.assembly or synth.synthesize(root=config.source_root).directory
            result = deploy.deploy(assembly, {
                settings.PARAM_API_BASE_URL: config.api_base_url,
                settings.PARAM_ALLOWED_HOSTS: allowed_hosts(config.api_base_url),
                settings.PARAM_LOG_LEVEL: config.log_level,
            }, config.endpoint)
            report.changed += result.changed
            report.unchanged += result.unchanged
            report.state_machine_arn = result.outputs.get(settings.OUTPUT_STATE_MACHINE_ARN, "")
        put_templates(dynamodb, template_files, report,
                      folder=folder_name(config.templates_dir, config.source_root))
    if not report.state_machine_arn:
        report.state_machine_arn = _state_machine_arn(config.endpoint)
    return report


def folder_name(templates_dir: Path, source_root: Path = settings.ROOT) -> str:
    """The name items give the folder they were seeded from: its path in the source tree (this
    checkout, a copy of it, or the docker image's all say `seed/templates`), else its full path."""
    directory = templates_dir.resolve()
    for root in (source_root, settings.ROOT):
        if directory.is_relative_to(root.resolve()):
            return directory.relative_to(root.resolve()).as_posix()
    return directory.as_posix()


@contextmanager
def deploy_lock(config: SeedConfig) -> Iterator[None]:
    """One deploy at a time per emulator endpoint (two first deploys would both create the stack)."""
    lock_dir = config.lock_dir or settings.STATE_DIR / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    target = config.endpoint or aws.endpoint_url() or "aws"
    path = lock_dir / f"deploy-{re.sub(r'[^A-Za-z0-9]+', '_', target)}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _require_table(dynamodb: Any) -> None:
    try:
        dynamodb.describe_table(TableName=settings.TABLE_NAME)
    except dynamodb.exceptions.ResourceNotFoundException as exc:
        raise SeedError(f"table {settings.TABLE_NAME} does not exist: deploy the stack first "
                        "(`make up`, or `testbed seed` without --templates-only)") from exc


def _state_machine_arn(endpoint: str | None) -> str:
    account = aws.client("sts", endpoint=endpoint).get_caller_identity()["Account"]
    return f"arn:aws:states:{aws.region()}:{account}:stateMachine:{settings.STATE_MACHINE_NAME}"


def allowed_hosts(api_base_url: str) -> str:
    """The Lambda's destination allow-list: the API's host and port, plus configured extras.

    The origin is read by the Lambda's own rule (`destinations.origin_of`), so the seed and the
    run-time check cannot disagree on schemes, default ports or host spelling.
    """
    try:
        origin = destinations.origin_of(api_base_url)
    except RenderError as exc:
        raise SeedError(f"--api-base-url {api_base_url!r}: {exc}") from None
    own = destinations.hostport(origin.host, origin.port)
    extra = [h.strip() for h in os.environ.get("TESTBED_ALLOWED_HOSTS_EXTRA", "").split(",") if h.strip()]
    return ",".join([own, *extra])


def put_templates(
    dynamodb: Any, template_files: Iterable[templates.TemplateFile], report: SeedReport | None = None,
    *, folder: str | None = None,
) -> None:
    """Upsert templates, writing only those that differ from the stored item, all or nothing.

    With `folder` (see folder_name), the items that folder's files wrote before and whose file
    is gone are deleted in the same writes. An item belongs to the folder that last changed it:
    another folder with the same template leaves it alone, and items written by anything else
    than the seed (no SEEDED_FROM) are never deleted.

    Every item is read and compared first; the changes are then written in one
    TransactWriteItems (DynamoDB's limits: 100 items and 4 MB per transaction; more changes
    than that are written in several, and when one fails, those before it are put back to
    the items read first). A write DynamoDB refuses therefore leaves every template as it
    was, not the files sorted before it written.
    """
    report = report if report is not None else SeedReport()
    files = list(template_files)
    puts: list[_Write] = []
    for template_file in files:
        name, method = template_file.key
        stored = dynamodb.get_item(
            TableName=settings.TABLE_NAME, Key=_key(template_file.key), ConsistentRead=True).get("Item")
        if _same_template(stored, template_file.item):
            report.unchanged.append(f"template {name} {method}")
        else:
            what = "updated" if stored else "created"
            puts.append(_Write(template_file.key, template_file.item, stored, f"{what} ({template_file.path.name})"))
    deletes: list[_Write] = []
    if folder is not None:
        kept = {template_file.key for template_file in files}
        for stored in _items_seeded_from(dynamodb, folder):
            key = (stored["PK"]["S"], stored["SK"]["S"])
            if key not in kept:
                file_name = stored[templates.SEEDED_FROM]["S"].rsplit("/", 1)[-1]
                deletes.append(_Write(key, None, stored, f"deleted ({file_name} is gone)"))
    _write_all(dynamodb, deletes + puts)  # deletes first: a put refused after them undoes them too
    report.changed += [f"template {write.key[0]} {write.key[1]}: {write.what}" for write in puts + deletes]


@dataclass(frozen=True)
class _Write:
    key: tuple[str, str]
    item: dict[str, Any] | None  # None: delete
    stored: dict[str, Any] | None  # the item before, to put back if a later transaction fails
    what: str

    def operation(self) -> dict[str, Any]:
        if self.item is None:
            return {"Delete": {"TableName": settings.TABLE_NAME, "Key": _key(self.key)}}
        return {"Put": {"TableName": settings.TABLE_NAME, "Item": self.item}}

    def undo(self) -> _Write:
        return _Write(self.key, self.stored, self.item, "put back")


def _same_template(stored: dict[str, Any] | None, item: dict[str, Any]) -> bool:
    """Equal, or equal but for the folder of an item some folder's seed wrote (it keeps its owner)."""
    if stored == item:
        return True
    if stored is None or templates.SEEDED_FROM not in stored or templates.SEEDED_FROM not in item:
        return False
    return _without_owner(stored) == _without_owner(item)


def _without_owner(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name != templates.SEEDED_FROM}


def _items_seeded_from(dynamodb: Any, folder: str) -> Iterator[dict[str, Any]]:
    """The stored items whose SEEDED_FROM names a file directly in `folder`."""
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=settings.TABLE_NAME, ConsistentRead=True, FilterExpression="begins_with(#from, :folder)",
        ExpressionAttributeNames={"#from": templates.SEEDED_FROM},
        ExpressionAttributeValues={":folder": {"S": f"{folder}/"}})
    for page in pages:
        for item in page["Items"]:
            if "/" not in item[templates.SEEDED_FROM]["S"].removeprefix(f"{folder}/"):
                yield item


def _key(key: tuple[str, str]) -> dict[str, Any]:
    return {"PK": {"S": key[0]}, "SK": {"S": key[1]}}


def _write_all(dynamodb: Any, writes: list[_Write]) -> None:
    """All the writes or none: a transaction DynamoDB refuses undoes the ones before it."""
    done: list[_Write] = []
    try:
        for batch in _transactions(writes):
            dynamodb.transact_write_items(TransactItems=[write.operation() for write in batch])
            done += batch
    except Exception:
        # Over 100 changes take several transactions: put back what the earlier ones wrote.
        for batch in _transactions([write.undo() for write in done]):
            dynamodb.transact_write_items(TransactItems=[write.operation() for write in batch])
        raise


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
