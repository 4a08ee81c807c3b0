"""A Map state's history is AWS's: started, each iteration, the Map Run, succeeded or failed.

Upstream (`_execute_map`, `_run_map_items`, `_run_distributed_map`, MiniStack 1.5.33)
records only `MapStateEntered` and `MapStateExited`, and keeps starting items after one has
failed. AWS records (the parity cases `test_map_state*`):
- `MapStateStarted` (`length`: the number of items) once the items are known, on every
  attempt (a retried Map starts again);
- inline: per item `MapIterationStarted`, the item's states (compound_states), then
  `MapIterationSucceeded` or `MapIterationFailed` (`name`: the Map state, `index`); after an
  item failed no further item starts (with `MaxConcurrency: 1`, the items after it never run);
- distributed: `MapRunStarted` (`mapRunArn`), then `MapRunSucceeded` or `MapRunFailed`
  (the items run as child executions, whose events are their own);
- `MapStateSucceeded`, or `MapStateFailed` when an error leaves the state (after its
  retries, before a Catch); not for a `States.Runtime` of the Map itself;
- `MaxConcurrencyPath` and `ToleratedFailureCountPath` (upstream ignores them) name an
  integer, else `States.Runtime` "The MaxConcurrencyPath field refers to value "x" which is
  not a valid integer: $.path" (the tolerated count is read once started, and not negative);
- a JSONata Map whose items are not an array: `States.QueryEvaluationError` "Map state
  input must be an array but was: 1" (upstream iterates the value as one item).
What the Map computes is upstream's.
"""

from __future__ import annotations

import contextvars
import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Any

from testbed.emulator.patches.compound_states import retry_and_catch
from testbed.emulator.patches.evaluation_failed import ERROR, compact_json
from testbed.emulator.patches.source import patch_function_source, replace_function
from testbed.emulator.patches.terminal_errors import RUNTIME, runtime_error

NAME = "map-history"
UPSTREAM = {
    "ministack.services.stepfunctions._execute_map":
        "18ad3965291213ada6d870a080c18a942f9e21c9c73a534d6bc962b472ca471e",
    "ministack.services.stepfunctions._run_map_items":  # run_map_items mirrors it
        "5df19a8074ce768cd03c8245c3da48736b96ba4d595422592f45b0a9b0866db8",
    "ministack.services.stepfunctions._run_distributed_map":
        "2b77d3ec0e04f8f19753678ebd461ff7bfc77d587daab309c523eaf3040167c7",
}
RUN_EDITS = (
    ("    _map_runs[map_run_arn] = run\n",
     "    _map_runs[map_run_arn] = run\n"
     '    _add_event(execution, "MapRunStarted", {"mapRunStartedEventDetails": {"mapRunArn": map_run_arn}})\n'),
    ('''    run["stopDate"] = now_iso()
    if exceeded:
''', '''    run["stopDate"] = now_iso()
    if exceeded:
        _add_event(execution, "MapRunFailed", {"mapRunFailedEventDetails": {
            "error": "States.ExceedToleratedFailureThreshold",
            "cause": "The specified tolerated failure threshold was exceeded"}})
    else:
        _add_event(execution, "MapRunSucceeded")
    if exceeded:
'''),
)


def iteration(execution: dict[str, Any], outcome: str, name: str, index: int) -> None:
    from ministack.services import stepfunctions

    stepfunctions._add_event(execution, f"MapIteration{outcome}", {
        f"mapIteration{outcome}EventDetails": {"name": name, "index": index}})


def integer_path(state_def: dict[str, Any], field: str, data: Any, ctx: Any) -> int | None:
    """The integer a `<field>Path` (MaxConcurrencyPath, ToleratedFailureCountPath) names, if the state has one."""
    from ministack.services import stepfunctions as sfn

    path = state_def.get(f"{field}Path")
    if not isinstance(path, str):
        return None
    value = sfn._resolve_path_or_ctx(path, data, ctx)
    if not isinstance(value, int) or isinstance(value, bool):
        shown = value if isinstance(value, str) else compact_json(value)
        raise runtime_error(ctx, f'The {field}Path field refers to value "{shown}" which is not a valid integer: '
                                 f"{path}")
    return value


def run_map_items(state_def: dict[str, Any], raw_input: Any, execution: dict[str, Any], ctx: dict[str, Any]) -> Any:
    """Upstream's `_run_map_items`, recording the Map's start and each iteration."""
    from ministack.services import stepfunctions as sfn

    # No Parameters here: on a Map it is ItemSelector's old spelling, applied per item.
    effective = sfn._apply_input_path(state_def, raw_input, ctx)
    is_jsonata = sfn._state_query_language(state_def, ctx) == "JSONata"
    if is_jsonata and "Items" in state_def:
        items = sfn._jsonata_state_field(state_def, "Items", "array", raw_input, ctx)
    else:
        items = sfn._resolve_path_or_ctx(state_def.get("ItemsPath", "$"), effective, ctx)
    if not isinstance(items, list):
        if is_jsonata:
            raise sfn._ExecutionError(ERROR, f"Map state input must be an array but was: {compact_json(items)}")
        items = [items]
    iterator = state_def.get("Iterator") or state_def.get("ItemProcessor", {})
    max_conc = state_def.get("MaxConcurrency", 0)
    if is_jsonata and "MaxConcurrency" in state_def:
        max_conc = sfn._jsonata_state_field(state_def, "MaxConcurrency", "number", raw_input, ctx)
    from_path = integer_path(state_def, "MaxConcurrency", effective, ctx)
    max_conc = max_conc if from_path is None else from_path
    sfn._add_event(execution, "MapStateStarted", {"mapStateStartedEventDetails": {"length": len(items)}})
    if (iterator.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED":
        tolerated = integer_path(state_def, "ToleratedFailureCount", effective, ctx)
        if tolerated is not None and tolerated < 0:
            raise runtime_error(ctx, "ToleratedFailureCount cannot be negative.")
        read = {"MaxConcurrency": max_conc, **({} if tolerated is None else {"ToleratedFailureCount": tolerated})}
        return sfn._run_distributed_map({**state_def, **read}, raw_input, effective, iterator, execution, ctx)

    name = ctx["State"]["Name"]
    results: list[Any] = [None] * len(items)
    errors: list[Exception | None] = [None] * len(items)
    stop = threading.Event()

    def run_item(idx: int, item: Any) -> None:
        if stop.is_set():  # an earlier item failed: AWS starts no more
            return
        iteration(execution, "Started", name, idx)
        try:
            item_ctx = copy.deepcopy(ctx)
            item_ctx["Map"] = {"Item": {"Index": idx, "Value": item}}
            item_params = state_def.get("ItemSelector") or state_def.get("Parameters")
            if not item_params:
                item_input = item
            elif is_jsonata:
                item_input = sfn._apply_jsonata_template(item_params, raw_input, item_ctx)
            else:  # $ is the Map's effective input; $$.Map.Item.Value the item
                item_input = sfn._resolve_params_obj(item_params, effective, item_ctx)
            results[idx] = sfn._run_sub_machine(iterator.get("States", {}), iterator.get("StartAt"),
                                                item_input, execution, item_ctx)
        except Exception as exc:
            errors[idx] = exc
            stop.set()
            iteration(execution, "Failed", name, idx)
            return
        iteration(execution, "Succeeded", name, idx)

    workers = max_conc if max_conc > 0 else (len(items) or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:  # each item keeps the request's contextvars
        futures_wait([pool.submit(contextvars.copy_context().run, run_item, i, item) for i, item in enumerate(items)])
    for err in errors:
        if err is not None:
            raise err if isinstance(err, sfn._ExecutionError) else sfn._ExecutionError("States.MapFailed", str(err))
    if is_jsonata:
        output = sfn._apply_jsonata_output(state_def, raw_input, ctx, result=results, default=results)
        sfn._apply_state_assign(state_def, raw_input, ctx, result=results)
        return output, sfn._next_or_end(state_def)
    result = sfn._apply_result_selector(state_def, results)
    output = sfn._apply_result_path(state_def, raw_input, result)
    return sfn._apply_output_path(state_def, output, ctx), sfn._next_or_end(state_def)


def execute_map(state_def: dict[str, Any], raw_input: Any, execution: dict[str, Any], ctx: dict[str, Any]) -> Any:
    from ministack.services import stepfunctions as sfn

    def attempt() -> Any:
        outcome = sfn._run_map_items(state_def, raw_input, execution, ctx)
        sfn._add_event(execution, "MapStateSucceeded")
        return outcome

    def failed(err: Any) -> None:
        if err.error != RUNTIME:
            sfn._add_event(execution, "MapStateFailed")

    return retry_and_catch(state_def, raw_input, ctx, attempt, failed)


def apply() -> None:
    from ministack.services import stepfunctions

    for old, new in RUN_EDITS:
        patch_function_source(stepfunctions, "_run_distributed_map", old, new, f"{NAME}:{old.strip()[:24]}")
    replace_function(stepfunctions, "_run_map_items", run_map_items, NAME)
    replace_function(stepfunctions, "_execute_map", execute_map, NAME)
