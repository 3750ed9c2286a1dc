"""The services under test as separate OS processes, and what /proc says about them.

:class:`Stack` starts ``newsmon <stage>`` subprocesses sharing one environment (as
tests/integration/test_e2e_services.py does) and stops them with SIGTERM. :func:`cpu_seconds`
and :func:`peak_rss_mb` read ``/proc/<pid>/stat`` and ``VmHWM`` (the kernel's resident-set
high-water mark: the true peak, no sampling); :func:`schedstat` splits a stage's wall time into
running, waiting for a CPU (other load) and idle (waiting for work).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0.0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (its NLP worker, for a processor)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return sorted(set(found))


def schedstat(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of the main thread. The wait
    is time other processes took the CPU: contention, not the pipeline starving the stage."""
    try:
        run, wait, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(run) / 1e9, int(wait) / 1e9


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Stack:
    """``newsmon`` services as subprocesses; several instances of a stage get names
    ``process-1``, ``process-2``, ..., each with its own log under ``logdir``."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, stage: str, env: dict[str, str] | None = None) -> None:
        log = (self.logdir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "newsmon", stage],
            env={**self.env, **(env or {})}, stdout=log, stderr=log,
        )

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.procs.items()}

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"services exited early: {dead}\n{self.logs()}")

    def stop(self) -> dict[str, int | None]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = None
        return codes

    def logs(self, tail: int = 2000) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}"
            for p in sorted(self.logdir.glob("*.log"))
        )


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.25,
             alive: Callable[[], None] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if alive is not None:
            alive()
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
