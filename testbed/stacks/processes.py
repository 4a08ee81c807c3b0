"""Background processes with pid files, stopped by process group.

Each service runs in its own session (process group), so stopping it also stops what it
spawned (the emulator's Lambda workers). A pid file is trusted only while the process it
names still runs the command we started, so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ManagedProcess:
    name: str
    run_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    def start(self, command: list[str], env: dict[str, str], cwd: Path) -> int:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.pid_file.write_text(f"{process.pid}\n{_marker(command)}\n")
        return process.pid

    def running_pid(self) -> int | None:
        """The pid from the pid file if that process is alive and still ours."""
        try:
            pid_text, marker = self.pid_file.read_text().splitlines()[:2]
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return (pid_alive(pid) and pid) or None  # no /proc (macOS): trust a live pid
        return pid if marker in cmdline else None

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the process group; return False if nothing of ours was running."""
        pid = self.running_pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.1)
        if _group_alive(pid):
            _signal_group(pid, signal.SIGKILL)
        return True

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _marker(command: list[str]) -> str:
    # The module or script name identifies our process in /proc/<pid>/cmdline.
    return " ".join(command[1:3]) if len(command) > 2 else command[0]


def pid_alive(pid: int) -> bool:
    """A process with this pid exists (signal 0; a zombie counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie leader of our own child counts as gone once reaped.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    # Zombies answer killpg too: a leader started by another process (a test that starts a
    # stack, a CLI that stops it) stays a zombie until its parent reaps it. What matters is
    # whether a process of the group still runs.
    running = _running_in_group(pgid)
    return True if running is None else running


def _running_in_group(pgid: int) -> bool | None:
    """Whether a non-zombie process is in the group; None where /proc cannot tell (macOS)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after the last ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
