"""The LocalStack Lambda worker (localstack/plugins/testbed_localstack/lambda_worker.py), over its
real protocol: it imports only the bundle and the runtime's packages, returns AWS's error
document for an exception and an import failure, and closes each invocation's logs with a marker.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import settings

WORKER = settings.ROOT / "localstack" / "plugins" / "testbed_localstack" / "lambda_worker.py"
MARKER = "\x1etestbed-lambda-end "
HANDLER = '''
import importlib, logging
logging.getLogger().setLevel("INFO")

def handler(event, context):
    print("hello from", context.function_name)
    logging.info("info line")
    if event.get("fail"):
        raise ValueError("boom")
    found = {}
    for name in event.get("modules", []):
        try:
            importlib.import_module(name)
            found[name] = True
        except ImportError:
            found[name] = False
    return {"found": found, "remaining": context.get_remaining_time_in_millis() > 0}
'''


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(HANDLER)
    packages = tmp_path / "runtime-packages"
    packages.mkdir()
    env = {"_HANDLER": "app.handler", "AWS_LAMBDA_FUNCTION_NAME": "probe", "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen([sys.executable, "-I", "-S", str(WORKER), str(code), str(packages)], cwd=code,
                               env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert json.loads(process.stdout.readline()) == {"ready": True}
    yield process
    process.kill()
    process.wait()


def invoke(process: subprocess.Popen[str], request_id: str, event: dict) -> tuple[dict, list[str]]:
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    message = {"request_id": request_id, "arn": "arn:aws:lambda:us-east-1:000000000000:function:probe",
               "payload": json.dumps(event), "deadline": time.time() + 5}
    process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()
    reply = json.loads(process.stdout.readline())
    logs = []
    while (line := process.stderr.readline()) != f"{MARKER}{request_id}\n":
        assert line, "the worker exited before its log marker"
        logs.append(line)
    return reply, logs


def test_only_the_bundle_and_the_runtime_packages_import(worker: subprocess.Popen[str]) -> None:
    # jinja2, testbed and yaml are all in the harness's venv that runs this worker
    reply, logs = invoke(worker, "r1", {"modules": ["jinja2", "testbed", "yaml", "app", "json"]})
    assert reply["error"] is False
    assert json.loads(reply["payload"]) == {
        "found": {"jinja2": False, "testbed": False, "yaml": False, "app": True, "json": True}, "remaining": True}
    assert logs[0] == "hello from probe\n"
    assert logs[1].startswith("[INFO]\t") and logs[1].rstrip().endswith("\tr1\tinfo line")


def test_an_exception_is_the_aws_error_document_and_the_worker_stays_warm(worker: subprocess.Popen[str]) -> None:
    reply, logs = invoke(worker, "r2", {"fail": True})
    document = json.loads(reply["payload"])
    assert reply["error"] is True
    assert (document["errorType"], document["errorMessage"], document["requestId"]) == ("ValueError", "boom", "r2")
    assert "[ERROR] ValueError: boom\n" in logs
    assert invoke(worker, "r3", {})[0]["error"] is False


def test_an_import_failure_is_reported_by_every_invocation(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text("import jinja2\ndef handler(event, context):\n    return 1\n")
    process = subprocess.Popen([sys.executable, "-I", "-S", str(WORKER), str(code), str(tmp_path)], cwd=code,
                               env={"_HANDLER": "app.handler"}, text=True, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        process.stdout.readline()
        reply, _ = invoke(process, "r4", {})
        document = json.loads(reply["payload"])
        assert document["errorType"] == "Runtime.ImportModuleError"
        assert "No module named 'jinja2'" in document["errorMessage"]
    finally:
        process.kill()
        process.wait()
