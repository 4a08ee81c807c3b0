"""Make what the stack answered comparable with what AWS recorded.

The recorded side went through LocalStack's snapshot transformers: names replaced by the
case's `replacements`, partition and region masked in ARNs, the account set to 111111111111,
and a JSON text starting with `{` parsed once. The same is done here to our side; values
that differ by nature (request ids, uuids, dates, wildcards) are left to compare.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

from testbed.parity.cases import Case
from testbed.parity.execute import Observed
from testbed.parity.names import RECORDED_REGION, Names
from testbed.parity.parallel_order import applies, ordered

# A Lambda's stack trace names its file where the runtime unpacked it: AWS says /var/task.
_TRACE_FILE = re.compile(r'File (\\*)"[^"\\]*/handler\.py(\\*)"')
AWS_TASK_FILE = "/var/task/handler.py"


def text(value: str, case: Case, names: Names | None) -> str:
    if names is not None:
        value = names.to_recorded(value)
    for recorded, placeholder in sorted(case.replacements, key=lambda pair: len(pair[0]), reverse=True):
        value = value.replace(recorded, placeholder)
    value = value.replace("arn:aws:", "arn:<partition>:")
    value = value.replace(f":{RECORDED_REGION}:", ":<region>:")
    return _TRACE_FILE.sub(lambda m: f'File {m[1]}"{AWS_TASK_FILE}{m[2]}"', value)


def parse_once(value: str | None) -> Any:
    """As the snapshot stores it: a text starting with `{` is parsed once, anything else kept."""
    if value is None or not value.startswith("{"):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def observed(seen: Observed, case: Case, names: Names | None) -> dict[str, Any]:
    """The observed execution in the shape of a case's `expected`."""
    def clean(value: str | None) -> Any:
        return parse_once(None if value is None else text(value, case, names))

    events = ordered(seen.events) if applies(case.expected.get("event_types", [])) else seen.events
    return {
        "status": seen.status,
        "output": clean(seen.output),
        "error": clean(seen.error),
        "cause": clean(seen.cause),
        "event_types": [event["type"] for event in events],
        "states_entered": [event["stateEnteredEventDetails"]["name"]
                           for event in events if "stateEnteredEventDetails" in event],
    }
