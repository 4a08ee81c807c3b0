"""Start MiniStack with the testbed's patches: `python -m testbed.emulator`.

The patches (testbed/emulator/patches/, one module each) make MiniStack behave as AWS where the
testbed depends on it, and remove its fixed per-execution overhead:
- execution_start: no 150 ms sleep before each execution; a crashed execution thread fails
  its execution instead of leaving it RUNNING;
- thread_reuse: executions and Task states run on reused threads (no thread start on the
  server's event loop per StartExecution);
- execution_input: StartExecution refuses input over 256 KiB or not JSON, as AWS does;
- jsonpath_required: a `.$` path that matches nothing fails with States.Runtime, as on AWS;
- test_state_retry: TestState answers RETRIABLE while a retrier has attempts left, as AWS;
- error_names: a Python handler's exception class name becomes `errorType` (Retry/Catch
  match on it), taken from the worker's own report, which a message cannot forge;
- worker_reuse: a handler exception keeps the Lambda worker warm (no cold start after it);
- worker_updates: a Lambda update lets in-flight invocations finish;
- fast_shutdown: SIGTERM stops it in 0.2 s instead of waiting 3 s for idle keep-alive clients;
- lambda_isolation: a Python Lambda imports only its bundle and the AWS runtime's SDK;
- log_drain: a Python Lambda's log lines end at a marker its worker writes, not after 5-50 ms of silence.
- content_types: a response's Content-Type comes from a table of the services' protocols, not
  from a botocore model loaded whole (~0.6 s of CPU per emulator process).

Used by the embedded stack and the MiniStack image alike.
"""

from __future__ import annotations

import logging

from testbed.emulator.patches import apply_all


def main() -> int:
    names = apply_all()
    logging.getLogger("testbed.emulator").warning("MiniStack patches applied: %s", ", ".join(names))
    from ministack.app import main as ministack_main

    ministack_main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
