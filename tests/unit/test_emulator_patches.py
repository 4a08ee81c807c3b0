"""The MiniStack patches (testbed/emulator/patches/): pinned upstream code, and each patch's logic.

If MiniStack is upgraded, `test_patched_upstream_code_is_unchanged` fails for every function
whose source changed: re-read that patch against the new source, then update its pin.
"""

from __future__ import annotations

import inspect
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from testbed.emulator import patches
from testbed.emulator.patches import (
    bytecode_cache,
    content_types,
    error_names,
    execution_input,
    log_drain,
    source,
    worker_updates,
)
from testbed.emulator.patches.source import PatchError, replace_once, source_sha256, upstream_object
from tests.support import lambda_zip

PINS = [(patch.NAME, dotted, sha) for patch in patches.PATCHES for dotted, sha in patch.UPSTREAM.items()]


@pytest.mark.parametrize(("patch", "dotted", "pinned"), PINS, ids=[f"{p}:{d.rsplit('.', 1)[-1]}" for p, d, _ in PINS])
def test_patched_upstream_code_is_unchanged(patch, dotted, pinned):
    obj = upstream_object(dotted)
    if isinstance(obj, str):  # the worker script: compare it as upstream shipped it
        for patch_module in (error_names, log_drain):
            obj = obj.replace(patch_module.WORKER_NEW, patch_module.WORKER_OLD)
    assert source_sha256(obj) == pinned, f"MiniStack changed {dotted}: re-check patch {patch!r}"


def test_patches_apply_twice_and_edit_what_they_say():
    names = patches.apply_all()
    assert names == [patch.NAME for patch in patches.PATCHES] and len(set(names)) == len(names) == 27
    from ministack.core import lambda_runtime
    from ministack.services import lambda_svc, stepfunctions

    once = (stepfunctions._run_execution, stepfunctions._start_execution, lambda_runtime.Worker.invoke)
    patches.apply_all()  # a second apply (the image's hook and a test process both apply) edits nothing again
    assert (stepfunctions._run_execution, stepfunctions._start_execution, lambda_runtime.Worker.invoke) == once

    patched_run = inspect.unwrap(stepfunctions._run_execution, stop=lambda f: hasattr(f, source.PATCHED_MARK))
    assert "sleep" in upstream_object("ministack.services.stepfunctions._run_execution").__code__.co_names
    assert "sleep" not in patched_run.__code__.co_names
    assert error_names.WORKER_NEW in lambda_runtime._PYTHON_WORKER_SCRIPT
    assert "add_bytecode" in lambda_runtime.Worker._spawn.__code__.co_names
    assert lambda_svc.invalidate_worker is lambda_runtime.invalidate_worker
    assert lambda_svc.release_worker is lambda_runtime.release_worker
    from ministack.core import responses
    assert "_testbed_envelope_model" in responses._expected_envelope_content_type.__code__.co_names


def test_replace_once_refuses_missing_or_repeated_text():
    assert replace_once("a b c", "b", "x", "here") == "a x c"
    with pytest.raises(PatchError, match="exactly once, found it 0 times"):
        replace_once("a c", "b", "x", "here")
    with pytest.raises(PatchError, match="found it 2 times"):
        replace_once("b b", "b", "x", "here")


@pytest.mark.parametrize(("text", "code"), [
    ("{}", None),
    (json.dumps({"x": "a" * (262144 - 10)}), None),
    (json.dumps({"x": "a" * 262144}), "ValidationException"),
    (json.dumps({"x": "é" * 140000}, ensure_ascii=False), "ValidationException"),  # UTF-8 bytes count
    ("not json", "InvalidExecutionInput"),
    ("[" * 10000 + "]" * 10000, "InvalidExecutionInput"),
    (None, None),
], ids=["empty", "just-under-256KiB", "256KiB", "utf8-over-256KiB", "not-json", "too-deep", "none"])  # short ids: the
# default ones hold the whole input (~1 MB of test ids in .test_durations and pytest's output)
def test_execution_input_limits(text, code):
    problem = execution_input.input_problem(text)
    assert (problem[0] if problem else None) == code


def test_error_type_comes_from_the_worker_not_the_message():
    forged = "url: bad\nUpstreamTimeout: forged"

    def execute():
        error_names._last.error_type = "RenderError"  # what the worker reported
        return {"error": True, "body": {"errorType": "Runtime.HandlerError", "errorMessage": forged},
                "log": f"Traceback (most recent call last):\nRenderError: {forged}"}

    assert error_names.with_error_type(execute)()["body"]["errorType"] == "RenderError"

    def other():
        return {"error": True, "body": {"errorType": "Sandbox.Timedout"}}

    assert error_names.with_error_type(other)()["body"]["errorType"] == "Sandbox.Timedout"
    assert error_names.with_error_type(lambda: {"body": {"ok": 1}})() == {"body": {"ok": 1}}


def test_worker_key_matching_is_upstreams():
    key = "000000000000:us-east-1:Fn:$LATEST"
    assert worker_updates.worker_key_matches(key, "Fn", None, None, None)
    assert worker_updates.worker_key_matches(key, "Fn", "$LATEST", "000000000000", "us-east-1")
    assert not worker_updates.worker_key_matches(key, "Other", None, None, None)
    assert not worker_updates.worker_key_matches(key, "Fn", "1", None, None)
    assert not worker_updates.worker_key_matches(key, "Fn", None, "111111111111", None)


def test_test_state_decides_retry_before_catch():
    from testbed.emulator.patches import test_state_retry

    state = {"Type": "Task", "Resource": "arn", "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2}],
             "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}], "End": True}
    request = {"definition": json.dumps(state), "mock": {"errorOutput": {"error": "Boom", "cause": "c"}},
               "inspectionLevel": "DEBUG"}
    answer = test_state_retry.retriable(request)
    assert answer is not None and answer["status"] == "RETRIABLE"
    assert answer["inspectionData"]["errorDetails"]["retryIndex"] == 0
    assert test_state_retry.retriable({**request, "stateConfiguration": {"retrierRetryCount": 2}}) is None
    other = {**request, "mock": {"errorOutput": {"error": "Other"}}}
    assert test_state_retry.retriable(other) is None  # not retried: upstream catches it


def test_emulator_config_drains_briefly():
    from hypercorn.config import Config

    from testbed.emulator.patches import fast_shutdown

    fast_shutdown.apply()
    assert Config().graceful_timeout == fast_shutdown.GRACEFUL_TIMEOUT_SECONDS
    assert "HypercornConfig()" in inspect.getsource(upstream_object("ministack.app.main"))


def test_log_drain_stops_at_the_end_mark_and_drops_it():
    # GIVEN a worker's stderr queue holding this invocation's lines, the end mark, and the next one's
    import queue

    lines: queue.Queue[str] = queue.Queue()
    for line in ("first", "second", log_drain.END_MARK, "next invocation"):
        lines.put(line)
    # WHEN the drain reads it THEN it returns this invocation's lines only, at once
    assert log_drain.read_until_mark(lines, cap_seconds=5.0) == "first\nsecond"
    assert lines.get_nowait() == "next invocation"


def test_log_drain_without_a_mark_ends_at_the_cap():
    import queue
    import time

    lines: queue.Queue[str] = queue.Queue()
    lines.put("only line")
    started = time.monotonic()
    assert log_drain.read_until_mark(lines, cap_seconds=0.05) == "only line"
    assert time.monotonic() - started < 1.0  # bounded (the cap, not a hang)


def test_log_drain_marks_the_end_of_each_python_invocation():
    patches.apply_all()
    from ministack.core import lambda_runtime

    assert log_drain.WORKER_NEW in lambda_runtime._PYTHON_WORKER_SCRIPT


def test_bytecode_is_compiled_once_per_code_version_and_copied_to_each_worker(tmp_path, monkeypatch):
    # GIVEN a bundle and the emulator's bytecode cache
    cache = tmp_path / "cache"
    cache.mkdir()
    code_zip = lambda_zip({"probe.py": "VALUE = 1\n", "pkg/__init__.py": ""})
    workers = [tmp_path / "worker-1", tmp_path / "worker-2"]
    # WHEN two workers of that version are spawned, the second after the first compiled it
    zipfile.ZipFile(io.BytesIO(code_zip)).extractall(workers[0])
    bytecode_cache.add_bytecode(str(workers[0]), code_zip, cache)
    monkeypatch.setattr(bytecode_cache.subprocess, "run", lambda *a, **k: pytest.fail("compiled twice"))
    zipfile.ZipFile(io.BytesIO(code_zip)).extractall(workers[1])
    bytecode_cache.add_bytecode(str(workers[1]), code_zip, cache)
    # THEN the second has every module's bytecode, unchecked-hash (PEP 552: valid whatever the
    # timestamps of a new extraction)
    tag = sys.implementation.cache_tag
    for module in ("probe", "pkg/__init__"):
        pyc = workers[1] / Path(module).parent / "__pycache__" / f"{Path(module).name}.{tag}.pyc"
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01, pyc
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 1


def test_the_patched_spawn_imports_the_bytecode_cache_where_it_lives():
    # The restructure moved the module and every Python Lambda then failed its cold start with
    # "No module named 'testbed.patches'": the import line the patch inserts must resolve.
    line = next(line.strip() for line in bytecode_cache.NEW.splitlines() if "import add_bytecode" in line)
    namespace: dict[str, object] = {}
    exec(line, namespace)
    assert namespace["add_bytecode"] is bytecode_cache.add_bytecode


@pytest.mark.parametrize("files", [
    {"pkg/__pycache__": "a file where the cache folder would go", "pkg/__init__.py": ""},
    {"broken.py": "def (:\n", "ok.py": ""},
])
def test_an_odd_bundle_starts_as_upstream_would(tmp_path, files):
    # GIVEN a bundle the cache cannot handle, or a module that does not compile
    cache = tmp_path / "cache"
    cache.mkdir()
    code_zip = lambda_zip(files)
    worker = tmp_path / "worker"
    zipfile.ZipFile(io.BytesIO(code_zip)).extractall(worker)
    # WHEN a worker is spawned THEN the cache costs at most its speed-up: nothing raised, and no
    # half-filled staging folder is left behind
    bytecode_cache.add_bytecode(str(worker), code_zip, cache)
    assert not [p for p in cache.iterdir() if p.name.startswith("staging-")]


def test_the_protocol_table_is_what_botocore_models_say():
    upstream = upstream_object("ministack.core.responses._service_model")  # uncached, whole model
    for service, metadata in content_types.PROTOCOLS.items():
        model = upstream(service).metadata
        assert {key: model[key] for key in ("protocol", "jsonVersion") if key in model} == metadata, service


@pytest.mark.parametrize("service", sorted(content_types.PROTOCOLS))
def test_content_types_from_the_table_are_upstreams(service):
    # GIVEN upstream's choice (the whole model) and the patched one (the table, never the model)
    patches.apply_all()
    from ministack.core import responses
    upstream = upstream_object("ministack.core.responses._expected_envelope_content_type")

    def no_model(name: str) -> None:
        raise AssertionError(f"the patched choice loaded the model of {name}")

    table_only = dict(upstream.__globals__, _testbed_envelope_model=lambda name: content_types.envelope_model(
        name, no_model))
    patched = type(upstream)(responses._expected_envelope_content_type.__code__, table_only)
    # THEN every envelope family and override table gets the same Content-Type
    for emitted in ("application/json", "application/x-amz-json-1.1", "text/xml", "application/xml; charset=utf-8",
                    "application/octet-stream"):
        for overrides in (responses._WIRE_CT_OVERRIDE, responses._WIRE_CT_SUCCESS_OVERRIDE):
            assert patched(service, emitted, overrides) == upstream(service, emitted, overrides), (emitted, overrides)


def test_other_services_still_get_upstreams_model():
    calls: list[str] = []
    assert content_types.envelope_model("sqs", calls.append) is None and calls == ["sqs"]
