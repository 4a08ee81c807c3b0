"""Synthesize the CDK app (infra/) into a cloud assembly, skipped when its inputs are unchanged.

The assembly (template + assets) is what `testbed.deploy` publishes to the emulator and what
`cdk deploy` publishes to AWS. Synthesis runs `infra/app.py` in a subprocess (the CDK's jsii
runtime starts Node.js), with the context passed in; the hash of every input (infra/, the
Lambda, the ASL file, constraints.txt, the context) is stored beside the assembly with a hash
of the assembly itself, so an unchanged app is not synthesized again, and an assembly
rewritten by another tool (`cdk deploy -c ...` writes infra/cdk.out) is. Each new assembly is
checked (`testbed.deploy.lint`) before it is kept.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from testbed import settings
from testbed.config import Config
from testbed.deploy import lint, nodejs
from testbed.errors import TestbedError

# The emulator's context: `make down` must leave nothing behind.
EMULATOR_CONTEXT = {"removalPolicy": "destroy"}
_INPUTS = ("infra", "lambdas/generic_api_call", "statemachines")
_INPUT_FILES = ("constraints.txt",)  # the Lambda bundle's versions
_SKIP_PARTS = {"__pycache__", "node_modules", ".pytest_cache", ".mypy_cache"}
_HASH_FILE = ".testbed-inputs"


class SynthError(TestbedError):
    """The CDK app could not be synthesized; the message says what to install or fix."""


@dataclass(frozen=True)
class Assembly:
    directory: Path
    synthesized: bool  # False: the inputs were unchanged and the earlier assembly was reused

    @property
    def template_path(self) -> Path:
        return self.directory / f"{settings.STACK_NAME}.template.json"

    @property
    def assets_path(self) -> Path:
        return self.directory / f"{settings.STACK_NAME}.assets.json"


def inputs_hash(context: dict[str, str], root: Path = settings.ROOT) -> str:
    digest = hashlib.sha256(json.dumps(context, sort_keys=True).encode())
    files = [root / name for name in _INPUT_FILES]
    for folder in _INPUTS:
        files += sorted((root / folder).rglob("*"))
    for path in files:
        relative = path.relative_to(root)
        if path.is_file() and not _generated(relative.parts) and path.suffix != ".pyc":
            digest.update(relative.as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _generated(parts: tuple[str, ...]) -> bool:
    """Build output under infra/ (cdk.out, its staging folders, node_modules): not an input."""
    return bool(_SKIP_PARTS.intersection(parts)) or any(part.startswith("cdk.out") for part in parts)


def synthesize(
    config: Config, outdir: Path | None = None, context: dict[str, str] | None = None, *, force: bool = False,
    root: Path = settings.ROOT,
) -> Assembly:
    """The assembly for `context` in `outdir` (default .testbed/cdk.out), synthesized if stale.

    `root` is the source tree whose infra/ app runs (its config finds lambdas/ and statemachines/
    beside it): this checkout, or a copy (the tests edit copies, never the working tree).
    """
    outdir = outdir or default_outdir(config, root)
    context = dict(EMULATOR_CONTEXT if context is None else context)
    wanted = inputs_hash(context, root)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    # One synth per output folder at a time (a test session and `make up` may race).
    lock_dir = config.locks_dir
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock_name = hashlib.sha256(str(outdir.resolve()).encode()).hexdigest()[:16]
    with (lock_dir / f"synth-{lock_name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and _current(outdir, wanted):
            return Assembly(outdir, synthesized=False)
        return _synthesize(config, outdir, context, wanted, root)


def is_current(outdir: Path, context: dict[str, str], root: Path = settings.ROOT) -> bool:
    """Whether `synthesize` would reuse the assembly in `outdir` for `context`."""
    return _current(outdir, inputs_hash(context, root))


def _current(outdir: Path, wanted: str) -> bool:
    """Same inputs, and the assembly is still the one made from them: `cdk synth` or `cdk deploy`
    with another context (-c) rewrite infra/cdk.out and leave the stamp where it was."""
    stamp = outdir / _HASH_FILE
    return stamp.is_file() and stamp.read_text() == _stamp(outdir, wanted)


def _stamp(outdir: Path, wanted: str) -> str:
    assembly = Assembly(outdir, synthesized=False)
    digest = hashlib.sha256()
    for path in (assembly.template_path, assembly.assets_path):
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
    return f"{wanted} {digest.hexdigest()}"


def default_outdir(config: Config, root: Path = settings.ROOT) -> Path:
    """The emulator's assembly: in the state folder for this checkout, in its own for a copy."""
    if root.resolve() == settings.ROOT.resolve():
        return config.emulator_assembly_dir
    return root / ".testbed" / "cdk.out"


def _synthesize(config: Config, outdir: Path, context: dict[str, str], wanted: str, root: Path) -> Assembly:
    search_path = _check_tools(config.environ.get("PATH", os.defpath))
    asl_path = root / settings.ASL_PATH.relative_to(settings.ROOT)
    lint.check_asl(asl_path)  # milliseconds: an ASL edit statelint refuses is told before a ~10 s synth
    # Synthesize beside the target and swap: a failed synth never leaves a half assembly.
    staging = Path(tempfile.mkdtemp(prefix="cdk.out-", dir=outdir.parent))
    env = {
        **config.environ,
        "PATH": search_path,  # jsii spawns `node` from PATH
        "CDK_OUTDIR": str(staging),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        # The CDK's built-in template validation (CloudFormation's schema checks, built to
        # WebAssembly) took ~10 s of CPU, more than half of a synth; check_assembly below runs
        # cfn-lint, the same kind of checks, on every assembly kept. `cdk synth` keeps it on.
        "CDK_VALIDATION": "false",
        "TESTBED_STATE_DIR": str(config.state_dir),
    }
    result = subprocess.run([sys.executable, str(root / "infra" / "app.py")], env=env,
                            capture_output=True, text=True, check=False, cwd=root / "infra")
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise SynthError(f"`python infra/app.py` failed (exit {result.returncode}):\n{result.stderr.strip()[-4000:]}")
    try:
        assembly = Assembly(staging, synthesized=True)
        lint.check_assembly(assembly.template_path, asl_path, config.lint_cache_dir)
    except lint.CheckError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    (staging / _HASH_FILE).write_text(_stamp(staging, wanted))
    shutil.rmtree(outdir, ignore_errors=True)
    staging.rename(outdir)
    return Assembly(outdir, synthesized=True)


def _check_tools(path: str) -> str:
    """The PATH for the synth's subprocess (`path` as it is, or with the venv's Node.js first)."""
    try:
        search_path = nodejs.search_path(("node",), path, purpose="to synthesize the CDK app (infra/)")
    except nodejs.NodeMissing as error:
        raise SynthError(error.message, hint=f"{error.hint}; or use the Docker backend (BACKEND=docker "
                         "make up), whose image synthesizes it") from None
    if importlib.util.find_spec("aws_cdk") is None:
        raise SynthError("aws-cdk-lib is not installed in this Python: run `make venv` (infra/requirements.txt)")
    return search_path
