"""The order LocalStack's Parallel transformer gave the recorded histories, applied to ours.

The branches of a Parallel state run concurrently, so their events interleave differently on
every run. The LocalStack tests that recorded the Parallel cases register
`SfnNoneRecursiveParallelTransformer` (tests/aws/services/stepfunctions/conftest.py): the
events between a `ParallelStateStarted` and the next `ParallelState{Succeeded,Failed,
Aborted,Exited}` are sorted by their JSON text (ids zeroed; the type comes first, then the
details as the API orders them: a state's `name` before its `input`). Its slice assignment
runs again at the `ParallelStateExited` that follows a `ParallelStateSucceeded` and, while it
iterates the list it shortens, drops events: that is why the recorded histories lack
`ParallelStateSucceeded`. Replaying the same steps on our history makes the two comparable;
a case whose recorded history has no `ParallelStateStarted` is left as it ran.
"""

from __future__ import annotations

import json
from typing import Any

STARTED = "ParallelStateStarted"
ENDS = {"ParallelStateSucceeded", "ParallelStateAborted", "ParallelStateExited", "ParallelStateFailed"}
# Members of a state's details in the API's order (the recorded JSON's), for the sort key.
DETAIL_ORDER = ("name", "resourceType", "resource", "index", "error", "cause", "input", "output")


def applies(recorded_types: list[str]) -> bool:
    return STARTED in recorded_types


def _key(event: dict[str, Any]) -> str:
    details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
    ordered = {k: details[k] for k in DETAIL_ORDER if k in details}
    return json.dumps([event["type"], ordered], default=str)


def ordered(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`events` as the transformer leaves them (a new list; the events are not changed)."""
    events = list(events)
    start: int | None = None
    sublist: list[dict[str, Any]] = []
    in_sublist = False
    for i, event in enumerate(events):  # the slice assignment below shortens the list: as upstream's, on purpose
        kind = event.get("type")
        if kind in ENDS:
            events[start:i] = sorted(sublist, key=_key)
            in_sublist = False
        elif kind == STARTED:
            in_sublist, sublist, start = True, [], i + 1
        elif in_sublist:
            sublist.append(event)
    return events
