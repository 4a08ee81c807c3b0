"""LocalStack Lambda executor that runs a Python function as a local process:
`LAMBDA_RUNTIME_EXECUTOR=testbed-local`.

LocalStack's only executor starts a Docker container per execution environment from a
`public.ecr.aws/lambda` image, with a runtime-init binary downloaded from GitHub. This one starts
`lambda_worker.py` with LocalStack's own interpreter, isolated as AWS isolates a function: only
the unzipped bundle and the runtime's SDK importable (`python -I -S`, plus a folder of links to
the packages named in TESTBED_LAMBDA_RUNTIME_PACKAGES, which the harness sets from its one list,
testbed/emulator/patches/lambda_isolation.py). The environment's variables are LocalStack's for
the function (credentials, _HANDLER, the function's own), not LocalStack's process environment.

The executor enforces the function's timeout (the runtime-init binary does, in a container): a
late worker is killed and the invocation fails with AWS's `Sandbox.Timedout`; the next invocation
starts a fresh worker. Python runtimes only.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor

from localstack import config
from testbed_localstack.lambda_worker import MARKER

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
LOG_DRAIN_SECONDS = 2.0  # after the result, the worker's marker line is already written: a bound, not a wait
_EOF = object()


def runtime_packages_dir() -> Path:
    """Links to the AWS runtime's own packages as installed for this interpreter (made once).

    The same steps as lambda_isolation.runtime_dir, written again on purpose: this module runs in
    LocalStack's own venv, where the testbed package is not importable; the list comes from it."""
    target = Path(os.environ.get("TMPDIR") or "/tmp") / "testbed-lambda-runtime" / "runtime-packages"
    target.mkdir(parents=True, exist_ok=True)
    import importlib.util

    for name in filter(None, os.environ.get("TESTBED_LAMBDA_RUNTIME_PACKAGES", "boto3,botocore").split(",")):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue  # not installed here: the function will not find it either
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        link = target / source.name
        if not link.exists():
            link.symlink_to(source)
    return target


def _pump(stream: IO[str], lines: queue.Queue[Any]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(_EOF)


class Worker:
    """One `lambda_worker.py` process and the queues of its protocol and log lines."""

    def __init__(self, code_dir: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(WORKER_SCRIPT), str(code_dir), str(runtime_packages_dir())],
            cwd=code_dir, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        self.replies: queue.Queue[Any] = queue.Queue()
        self.logs: queue.Queue[Any] = queue.Queue()
        for stream, lines in ((self.process.stdout, self.replies), (self.process.stderr, self.logs)):
            threading.Thread(target=_pump, args=(stream, lines), daemon=True).start()

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """The worker's reply, or None when it exited or timed out."""
        if message:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write(json.dumps(message) + "\n")
                self.process.stdin.flush()
            except OSError:
                return None
        try:
            reply = self.replies.get(timeout=timeout)
        except queue.Empty:
            return None
        return None if reply is _EOF else json.loads(reply)

    def logs_until(self, request_id: str) -> list[str]:
        lines: list[str] = []
        deadline = time.monotonic() + LOG_DRAIN_SECONDS
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.logs.get(timeout=remaining)
            except queue.Empty:
                break
            if line is _EOF or line == f"{MARKER}{request_id}\n":
                break
            lines.append(line)
        return lines

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # and whatever the function started
        self.process.wait()


class LocalProcessExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.env: dict[str, str] = {}
        self.worker: Worker | None = None
        # Held while an invocation runs: `stop` (LocalStack stops an environment when the function
        # is updated) waits for it, so an in-flight invocation finishes on the old code, as on AWS.
        self.busy = threading.Lock()

    @property
    def code_dir(self) -> Path:
        return Path(self.function_version.config.code.get_unzipped_code_location())

    def start(self, env_vars: dict[str, str]) -> None:
        runtime = self.function_version.config.runtime or ""
        if not runtime.startswith("python"):
            raise LambdaRuntimeException(f"runtime {runtime!r}: the testbed-local executor runs Python functions only")
        self.env = {key: str(value) for key, value in env_vars.items()}
        self.env.update({"LAMBDA_TASK_ROOT": str(self.code_dir), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                         "LANG": "C.UTF-8", "TMPDIR": os.environ.get("TMPDIR", "/tmp")})
        self._spawn()

    def _spawn(self) -> Worker:
        self.worker = Worker(self.code_dir, self.env)
        if self.worker.request({}, timeout=float(self.function_version.config.timeout) + 10) is None:
            raise LambdaRuntimeException(f"the Lambda worker exited during init: {self.worker.logs_until('')}")
        return self.worker

    def stop(self) -> None:
        acquired = self.busy.acquire(timeout=float(self.function_version.config.timeout) + 1)
        if acquired:
            self.busy.release()
        if self.worker is not None:
            self.worker.kill()
            self.worker = None

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        return f"http://127.0.0.1:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        with self.busy:
            return self._invoke(payload)

    def _invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout = float(self.function_version.config.timeout)
        worker = self.worker or self._spawn()
        started = time.monotonic()
        reply = worker.request({"request_id": request_id, "arn": payload["invoked-function-arn"],
                                "payload": payload["payload"], "trace_id": payload.get("trace-id", ""),
                                "deadline": time.time() + timeout}, timeout=timeout)
        elapsed_ms = (time.monotonic() - started) * 1000
        if reply is None:
            timed_out = worker.process.poll() is None
            worker.kill()
            self.worker = None  # the next invocation starts a fresh environment, as on AWS
            error = (f"Task timed out after {timeout:.2f} seconds" if timed_out
                     else f"Runtime exited with error: exit status {worker.process.returncode}")
            reply = {"error": True, "payload": json.dumps({
                "errorType": "Sandbox.Timedout" if timed_out else "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: {error}"})}
        logs = "".join(worker.logs_until(request_id))
        memory = self.function_version.config.memory_size
        report = (f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
                  f"Billed Duration: {int(elapsed_ms) + 1} ms\tMemory Size: {memory} MB\n")
        version = self.function_version.id.qualifier
        return InvocationResult(request_id, reply["payload"].encode(), is_error=reply["error"],
                                logs=f"START RequestId: {request_id} Version: {version}\n{logs}{report}")

    def get_logs(self) -> str:
        return ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()  # unzips the bundle

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass


class LocalProcessExecutorPlugin(RuntimeExecutorPlugin):
    name = "testbed-local"

    def load(self, *args: Any, **kwargs: Any) -> type[RuntimeExecutor]:
        return LocalProcessExecutor
