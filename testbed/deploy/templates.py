"""Template data files (seed/templates/<name>.<METHOD>.yaml): load, validate, convert to items.

A file holds one template: `name` and `method` (the item's PK and SK) plus the request
fields. Validation uses the Lambda's own template model and Jinja parser, so the seed
rejects exactly what the Lambda would reject at run time.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from boto3.dynamodb.types import TypeSerializer

from generic_api_call.destinations import AllowList, check_origin
from generic_api_call.errors import DestinationRefused, GenericApiCallError, InvalidTemplate, SecretNotAllowed
from generic_api_call.render import check_syntax, template_destination
from generic_api_call.template import SEEDED_FROM, Template, from_plain
from testbed.deploy import contracts
from testbed.errors import TestbedError

if TYPE_CHECKING:
    from mockapi.contract import Operation

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json")
# A template becomes one DynamoDB item (at most 400 KB); the rest of a file is comments. PyYAML
# reads ~0.3 MB/s: a 100 MB file named like a template held the seed and the watch for minutes.
MAX_FILE_BYTES = 512 * 1024
_serializer = TypeSerializer()


class TemplateFileError(TestbedError):
    """A template file is invalid; the message names the file and the reason."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}", context={"file": str(path)})
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class TemplateFile:
    path: Path
    template: Template
    item: dict[str, Any]  # attribute-value form, ready for put_item
    contract: Operation | None = None  # the operation its requests must conform to (contracts.py)
    examples: tuple[dict[str, Any], ...] = ()  # params sets the seed renders and checks

    @property
    def key(self) -> tuple[str, str]:
        return self.template.name, self.template.method


def load_dir(directory: Path, folder: str | None = None) -> list[TemplateFile]:
    """Load and validate every template file; raise TemplateFileError on the first bad one.

    With `folder` (the name the seed gives `directory`), each item carries SEEDED_FROM."""
    if not directory.is_dir():
        raise TemplateFileError(directory, "templates directory not found")
    paths = sorted(p for p in directory.iterdir() if p.suffix in TEMPLATE_SUFFIXES)
    if not paths:
        raise TemplateFileError(directory, f"no template files ({', '.join(TEMPLATE_SUFFIXES)}) found")
    loaded: list[TemplateFile] = []
    seen: dict[tuple[str, str], Path] = {}
    for path in paths:
        template_file = load_file(path, folder)
        if template_file.key in seen:
            raise TemplateFileError(path, f"duplicate template {template_file.key}, also in {seen[template_file.key]}")
        seen[template_file.key] = path
        loaded.append(template_file)
    return loaded


class _TemplateLoader(yaml.SafeLoader):
    """yaml.safe_load without aliases: a 500-byte file of lists of `*alias`es nested 9 deep
    expands to 9**9 values when the template is checked (the seed hung, out of memory)."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in template files: write the value out", event.start_mark)
        return super().compose_node(parent, index)


def load_file(path: Path, folder: str | None = None) -> TemplateFile:
    try:
        data = yaml.load(read_regular(path), Loader=_TemplateLoader)  # a SafeLoader
    except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: e.g. an integer of over 4300 digits
        raise TemplateFileError(path, f"cannot be read as YAML/JSON: {exc}") from exc
    except RecursionError:  # PyYAML's parser recurses: a few hundred nested brackets overflow it
        raise TemplateFileError(path, "cannot be read as YAML/JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise TemplateFileError(path, "must contain a map with 'name', 'method' and 'url'")
    for required in ("name", "method"):
        if not isinstance(data.get(required), str) or not data[required].strip():
            raise TemplateFileError(path, f"field '{required}' is missing or not a non-empty string")
    if SEEDED_FROM in data:
        raise TemplateFileError(path, f"field '{SEEDED_FROM}' is written by the seed (the file an item came from): "
                                      "remove it from the file")
    try:
        harness = contracts.read(data, str(data["method"]).upper(), path.parent)
    except contracts.ContractFieldError as exc:
        raise TemplateFileError(path, str(exc)) from exc
    plain = {k: v for k, v in data.items() if k not in ("name", "method", *contracts.HARNESS_FIELDS)}
    plain["PK"], plain["SK"] = data["name"], data["method"]
    try:
        template = from_plain(plain)
        check_syntax(template)
    except (InvalidTemplate, SecretNotAllowed) as exc:
        raise TemplateFileError(path, str(exc).replace("'PK'", "'name'").replace("'SK'", "'method'")) from exc
    expected = f"{template.name}.{template.method}"
    if path.stem != expected:
        raise TemplateFileError(
            path, f"field 'name'/'method' ({expected}) does not match the file name: rename it {expected}{path.suffix}")
    item_data = plain | {"SK": template.method}
    if folder is not None:
        item_data[SEEDED_FROM] = f"{folder}/{path.name}"
    try:
        check_dynamodb_item(item_data)
        item = to_item(item_data)
    except (DynamoDBRefusal, TypeError, ValueError, ArithmeticError) as exc:  # the serializer's own, as a backstop
        raise TemplateFileError(path, str(exc).replace("'PK'", "'name'").replace("'SK'", "'method'")) from exc
    return TemplateFile(path=path, template=template, item=item, contract=harness.contract,
                        examples=harness.examples)


def read_regular(path: Path) -> str:
    """The text of a regular file (or a link to one), of at most MAX_FILE_BYTES. A FIFO named like a
    template blocked the seed and the watch in read() until something wrote to it: it is opened
    without blocking and refused, as are directories, devices and sockets."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: a socket
            raise
        descriptor = -1
    try:
        mode = os.fstat(descriptor).st_mode if descriptor >= 0 else stat.S_IFSOCK
        if not stat.S_ISREG(mode):
            kind = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFDIR: "a directory",
                    stat.S_IFSOCK: "a socket"}.get(stat.S_IFMT(mode), "a device")
            raise TemplateFileError(path, f"is {kind}, not a regular file: remove it, or rename it without a "
                                          f"template suffix ({', '.join(TEMPLATE_SUFFIXES)})")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # at most: the size stat gives may be 0 (/proc) or grow
        if len(data) > MAX_FILE_BYTES:
            raise TemplateFileError(path, f"is larger than {MAX_FILE_BYTES // 1024} KiB (MAX_FILE_BYTES); a template "
                                          "is one DynamoDB item of at most 400 KB: is this file a template?")
        return data.decode("utf-8")
    finally:
        if descriptor >= 0:
            os.close(descriptor)


# --- what DynamoDB would refuse at put_item, found before anything is written ------------------

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit (names and values, UTF-8)
MAX_NUMBER_DIGITS = 38  # significant digits of a DynamoDB number
NUMBER_EXPONENT_RANGE = (-130, 125)  # magnitude 1E-130 .. 9.99E+125


class DynamoDBRefusal(ValueError):
    """A value DynamoDB would refuse; the message names the field."""


def check_dynamodb_item(plain: dict[str, Any]) -> None:
    """Refuse, naming the field, what put_item would: sets, odd numbers, bad text, items over 400 KB."""
    size = 0
    pending: list[tuple[Any, str]] = [(value, key) for key, value in plain.items()]
    size += sum(len(key.encode("utf-8", "surrogatepass")) for key in plain)
    while pending:
        value, where = pending.pop()
        size += _value_bytes(value, where)
        if isinstance(value, dict):
            pending.extend((child, f"{where}.{key}") for key, child in value.items())
            size += sum(len(str(key).encode("utf-8", "surrogatepass")) for key in value)
        elif isinstance(value, list):
            pending.extend((child, f"{where}[{i}]") for i, child in enumerate(value))
    if size > MAX_ITEM_BYTES:
        raise DynamoDBRefusal(f"the item is about {size} bytes, over DynamoDB's {MAX_ITEM_BYTES}-byte limit")


def _value_bytes(value: Any, where: str) -> int:
    """DynamoDB's size of one value (containers: their overhead only); raises on what it refuses."""
    if isinstance(value, str):
        try:
            return len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise DynamoDBRefusal(f"field '{where}' is not valid Unicode (a lone surrogate)") from None
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        return _number_bytes(value, where)
    if isinstance(value, dict | list):
        return 3 + len(value)
    raise DynamoDBRefusal(
        f"field '{where}' holds a {type(value).__name__}: DynamoDB items here hold strings, numbers, "
        "true/false, null, lists and maps")


def _number_bytes(value: float | Decimal, where: str) -> int:
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise DynamoDBRefusal(f"field '{where}' is {value}: DynamoDB needs a finite number")
    digits = "".join(map(str, number.as_tuple().digits)).strip("0") or "0"  # significant digits, exactly
    exponent = number.adjusted() if number else 0
    if len(digits) > MAX_NUMBER_DIGITS or not NUMBER_EXPONENT_RANGE[0] <= exponent <= NUMBER_EXPONENT_RANGE[1]:
        raise DynamoDBRefusal(
            f"field '{where}' is a number DynamoDB cannot store (over {MAX_NUMBER_DIGITS} significant digits, "
            "or beyond 1E-130..9.9E+125); quote it")
    return 1 + (len(digits) + 1) // 2


def check_destinations(template_files: list[TemplateFile], base_url: str, allowed: str) -> None:
    """Each template must call a host of the allow-list (`allowed`, as the Lambda gets it).

    The Lambda's own static check: the origin comes from the url's text, never from params.
    """
    allow = AllowList.parse(allowed)
    for template_file in template_files:
        try:
            check_origin(template_destination(template_file.template, base_url), allow)
        except DestinationRefused as exc:
            raise TemplateFileError(
                template_file.path,
                f"field 'url': {exc}; use {{{{ base_url }}}}, or add the host to TESTBED_ALLOWED_HOSTS_EXTRA",
            ) from exc
        except GenericApiCallError as exc:
            raise TemplateFileError(template_file.path, f"field 'url': {exc}") from exc


def to_item(plain: dict[str, Any]) -> dict[str, Any]:
    """Plain data to DynamoDB attribute-value form (floats become Decimals, as DynamoDB needs)."""
    return {key: _serializer.serialize(_decimals(value)) for key, value in plain.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value
