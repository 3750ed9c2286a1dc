"""The four services as OS processes: start, kill -9, restart, stop (SIGTERM), logs.

A process is named by its stage (``process``) or, for one of several instances of a stage, by
stage and number (``process-2``): such an instance has its own ``data_dir`` (a subdirectory
named like it), which it keeps across restarts, as a service unit would. Each process gets its
own ``/metrics`` + ``/healthz`` port (free ports picked at start), so several stacks and the
default-port services of other users can run side by side.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STAGES = ("ingest", "process", "index", "alert")


def stage_of(name: str) -> str:
    """``process-2`` → ``process``."""
    return name.split("-", 1)[0]


def instance_names(stage: str, count: int) -> list[str]:
    """The names of ``count`` instances of ``stage``: the stage itself when alone."""
    return [stage] if count == 1 else [f"{stage}-{i}" for i in range(1, count + 1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """Services sharing one environment; ``starts`` counts every process start."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        logdir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports = {stage: free_port() for stage in STAGES}
        self.starts = 0

    def start(self, *names: str) -> None:
        for name in names:
            stage = stage_of(name)
            log = (self.logdir / f"{name}.log").open("ab")
            port = self.ports.setdefault(name, free_port())
            env = {**self.env, "NEWSMON_METRICS_PORT": str(port)}
            if name != stage and "NEWSMON_DATA_DIR" in self.env:
                env["NEWSMON_DATA_DIR"] = str(Path(self.env["NEWSMON_DATA_DIR"]) / name)
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "newsmon", stage],
                env=env,
                stdout=log,
                stderr=log,
                cwd=str(Path(__file__).resolve().parent.parent),
            )
            log.close()
            self.starts += 1

    def names(self) -> list[str]:
        """Every process started so far (alive or not), in start order."""
        return list(self.procs)

    def kill(self, name: str) -> None:
        """kill -9: no signal handler, no flush, no commit."""
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def alive(self, name: str) -> bool:
        return name in self.procs and self.procs[name].poll() is None

    def exit_codes(self) -> dict[str, int | None]:
        return {name: proc.poll() for name, proc in self.procs.items()}

    def stop(self, timeout: float = 40.0) -> dict[str, int | None]:
        """SIGTERM every live service; their exit codes (None: had to be killed)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                codes[name] = None
        return codes

    def health(self, name: str, timeout: float = 8.0) -> tuple[int | None, str]:
        """(status, body) of the process's ``/healthz``; (None, reason) if it does not answer."""
        try:
            r = httpx.get(f"http://127.0.0.1:{self.ports[name]}/healthz", timeout=timeout)
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        return r.status_code, r.text

    def metrics(self, name: str) -> str:
        try:
            return httpx.get(f"http://127.0.0.1:{self.ports[name]}/metrics", timeout=5).text
        except httpx.HTTPError:
            return ""

    def log_text(self, name: str) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}"
            for p in sorted(self.logdir.glob("*.log"))
        )


def wait_for(check: object, timeout: float, what: str, every: float = 0.5) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()  # type: ignore[operator]
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
