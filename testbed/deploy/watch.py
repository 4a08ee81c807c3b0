"""`testbed watch`: re-deploy what changed on disk to the running stack, one line per change.

A change under seed/templates/ re-seeds the templates only (DynamoDB writes, well under a
second); a change under lambdas/, statemachines/ or infra/ re-deploys the infrastructure
(the seed rebuilds the Lambda zip and updates the function and the state machine only where
they differ). Each kind of change calls ONE deploy function below, so pointing the watch at
another deployer (e.g. a CDK app) is a change in one place.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from testbed import errors, settings
from testbed.deploy.report import SeedReport
from testbed.deploy.seed import SeedConfig, seed
from testbed.deploy.templates import TEMPLATE_SUFFIXES
from testbed.runs.inert import inert
from testbed.stacks.base import Stack

TEMPLATES = "templates"
INFRASTRUCTURE = "infrastructure"
# watchfiles groups changes for `debounce` ms at most; editors write a file in several steps.
DEBOUNCE_MS = 200
STEP_MS = 50


def deploy_templates(stack: Stack, templates_dir: Path, root: Path = settings.ROOT) -> SeedReport:
    """Templates only: validated as the seed does, written where they differ from the table (and
    deleted where a file is gone). `root`: the source tree they are in, which names the folder."""
    return seed(SeedConfig(api_base_url=stack.endpoints.mockapi_for_lambda, endpoint=stack.endpoints.aws,
                           config=stack.config, templates_dir=templates_dir, templates_only=True, source_root=root))


def deploy_infrastructure(stack: Stack, root: Path = settings.ROOT,
                          templates_dir: Path = settings.TEMPLATES_DIR) -> SeedReport:
    """Lambda and state machine (and templates), synthesized from the source tree `root` and
    deployed from here, on either backend. (The docker stack's own seed hook deploys the assembly
    built into its image, which never sees an edit; the Lambda bundle is built for the Lambda's
    platform, not this machine's, so the one built here runs in the container too.)"""
    return seed(SeedConfig(api_base_url=stack.endpoints.mockapi_for_lambda, endpoint=stack.endpoints.aws,
                           config=stack.config, templates_dir=templates_dir, source_root=root))


@dataclass
class WatchedPaths:
    templates: list[Path]
    infrastructure: list[Path]
    root: Path = settings.ROOT  # the source tree the infrastructure is synthesized from

    @classmethod
    def of(cls, root: Path = settings.ROOT) -> WatchedPaths:
        """Everything the watch deploys, in the source tree `root` (this checkout, or a copy)."""
        def inside(path: Path) -> Path:
            return root / path.relative_to(settings.ROOT)

        infrastructure = [inside(settings.LAMBDA_DIR.parent), inside(settings.ASL_PATH.parent), root / "infra"]
        return cls(templates=[inside(settings.TEMPLATES_DIR)],
                   infrastructure=[p for p in infrastructure if p.exists()], root=root)

    def all(self) -> list[Path]:
        return [*self.templates, *self.infrastructure]

    def kind(self, path: Path) -> str | None:
        if any(path.is_relative_to(root) for root in self.templates):
            # editors' temporary files (sed's, vim's) are not templates: the seed reads TEMPLATE_SUFFIXES only
            return TEMPLATES if path.suffix in TEMPLATE_SUFFIXES else None
        if any(path.is_relative_to(root) for root in self.infrastructure):
            return INFRASTRUCTURE
        return None


class Watcher:
    def __init__(self, stack: Stack, paths: WatchedPaths, print_line: Callable[[str], None] = print) -> None:
        self.stack = stack
        self.paths = paths
        self.print_line = print_line

    def handle(self, changed: Iterable[Path]) -> list[str]:
        """Deploy each kind of change once (infrastructure includes the templates); return the lines printed."""
        by_kind: dict[str, list[Path]] = {}
        for path in changed:
            kind = self.paths.kind(path)
            if kind is not None:
                by_kind.setdefault(kind, []).append(path)
        if INFRASTRUCTURE in by_kind:
            kinds = [(INFRASTRUCTURE, by_kind[INFRASTRUCTURE] + by_kind.get(TEMPLATES, []))]
        else:
            kinds = [(kind, paths) for kind, paths in by_kind.items()]
        # File names and error messages quote what is on disk (a template's name): shown inert.
        lines = [inert(self._deploy(kind, paths)) for kind, paths in kinds]
        for line in lines:
            self.print_line(line)
        return lines

    def _deploy(self, kind: str, paths: list[Path]) -> str:
        started = time.monotonic()
        names = ", ".join(sorted({relative(p) for p in paths}))
        try:
            if kind == TEMPLATES:
                report = deploy_templates(self.stack, self.paths.templates[0], self.paths.root)
            else:
                report = deploy_infrastructure(self.stack, self.paths.root, self.paths.templates[0])
        except Exception as exc:  # an edit must never end the watch; Ctrl-C (not an Exception) does
            return f"{_clock()} {kind:<14} {names}: NOT deployed: {_describe(exc)}"
        took = time.monotonic() - started
        what = "; ".join(report.changed) if report.changed else "nothing to deploy (already up to date)"
        return f"{_clock()} {kind:<14} {names}: {what} ({took:.2f}s)"

    def run(self, stop: threading.Event | None = None, ready: Callable[[], None] | None = None) -> None:
        """Watch until `stop` is set (or Ctrl-C); `ready` is called once the watch is in place."""
        roots = [str(p) for p in self.paths.all()]
        # watchfiles starts watching when the generator is first advanced; with yield_on_timeout
        # an empty first batch arrives once the watch is in place, which is when `ready` runs.
        for changes in watchfiles.watch(*roots, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop,
                                        yield_on_timeout=True, rust_timeout=500, raise_interrupt=False):
            if ready is not None:
                ready()
                ready = None
            if changes:
                self.handle(Path(path) for _change, path in changes)


def _describe(exc: Exception) -> str:
    """A user error as the CLI shows it (message, hint); a bug with its traceback, to report."""
    error = errors.user_error(exc)
    if error is not None:
        return error.message + (f"\n  hint: {error.hint}" if error.hint else "")
    trace = "".join(traceback.format_exception(exc)).rstrip()
    return f"unexpected {type(exc).__name__} (a bug in the harness; the watch goes on):\n{trace}"


def relative(path: Path) -> str:
    try:
        return path.relative_to(settings.ROOT).as_posix()
    except ValueError:
        return str(path)


def _clock() -> str:
    return time.strftime("%H:%M:%S")
