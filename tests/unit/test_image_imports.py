"""The emulator image's `testbed seed` runs with the mock API's contract modules only
(localstack/Dockerfile copies mockapi/__init__, contract, contract_errors): the CLI's parser must
build without the rest of the mock API. (A top-level import of the recording's drift check, which
needs mockapi.exchange, made every docker stack's seed hook fail.)"""

from __future__ import annotations

import re
import subprocess
import sys

from testbed import settings

IMAGE_MOCKAPI = set(re.findall(r"mockapi/(\w+)\.py", next(
    line for line in (settings.ROOT / "localstack" / "Dockerfile").read_text().splitlines()
    if line.startswith("COPY mockapi/"))))

PROBE = """
import importlib.abc, sys
allowed = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith("mockapi.") and name.split(".")[1] not in allowed:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the emulator image)")
        return None
sys.meta_path.insert(0, Block())
from testbed import cli
cli._parser().parse_args(["seed", "--api-base-url", "http://mockapi:8080"])
import testbed.deploy.seed
print("ok")
"""


def test_the_seed_cli_builds_with_the_images_mockapi_modules() -> None:
    assert {"__init__", "contract"} <= IMAGE_MOCKAPI
    done = subprocess.run([sys.executable, "-c", PROBE, ",".join(IMAGE_MOCKAPI - {"__init__"})],
                          capture_output=True, text=True, timeout=60, cwd=settings.ROOT, check=False)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
