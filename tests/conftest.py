"""Shared fixtures. Integration tests share one real Kafka and one real Elasticsearch per
session (started by ``deploy/local/services up`` unless already reachable) and use a unique
topic / index per test. A missing service fails the run; nothing skips silently."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from chaos.services import PrivateServices

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SERVICES = ROOT / "deploy" / "local" / "services"


@dataclass(frozen=True)
class Services:
    bus: str
    store: str


def _reachable(url: str) -> bool:
    if url.startswith("kafka://"):
        host, _, port = url.removeprefix("kafka://").split(",")[0].partition(":")
    else:
        parts = urlsplit(url)
        host, port = parts.hostname or "", str(parts.port or 9200)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def _exports(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("export "):
            for pair in line.removeprefix("export ").split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    bus = os.environ.get("NEWSMON_TEST_BUS", "kafka://127.0.0.1:9092")
    store = os.environ.get("NEWSMON_TEST_STORE", "http://127.0.0.1:9200")
    started = False
    if not (_reachable(bus) and _reachable(store)):
        proc = subprocess.run(
            [str(SERVICES), "up"], capture_output=True, text=True, timeout=900, check=False
        )
        if proc.returncode != 0:
            pytest.fail(f"could not start Kafka + Elasticsearch:\n{proc.stderr[-4000:]}")
        env = _exports(proc.stdout)
        bus, store = env.get("NEWSMON_BUS", bus), env.get("NEWSMON_STORE", store)
        started = True
    yield Services(bus=bus, store=store)
    if started and os.environ.get("NEWSMON_TEST_KEEP_SERVICES") != "1":
        subprocess.run([str(SERVICES), "down"], capture_output=True, timeout=300, check=False)


@pytest.fixture(scope="session")
def private_services() -> Iterator[PrivateServices]:
    """The second Kafka + Elasticsearch pair, for tests that stop, restart or overload
    services (chaos, outages): started on first use, stopped at the end of the session."""
    from chaos.services import PrivateServices

    svc = PrivateServices()
    svc.up()
    yield svc
    if os.environ.get("NEWSMON_TEST_KEEP_SERVICES") != "1":
        svc.down()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topics, groups and indices of one test."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable
