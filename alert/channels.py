"""Alert channels: where a matched article is delivered.

A channel's ``send`` either succeeds or raises :class:`TransientError` (the alert stays pending
and is retried) or :class:`PermanentError` (the receiver refuses it; recorded as failed).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from newsmon.config import ChannelConfig
from newsmon.errors import ConfigError, PermanentError, TransientError

log = logging.getLogger(__name__)


class Channel(Protocol):
    kind: str

    def send(self, payload: Mapping[str, Any]) -> None: ...


class LogChannel:
    kind = "log"

    def send(self, payload: Mapping[str, Any]) -> None:
        actors = ", ".join(payload.get("actors", [])) or "-"
        log.warning(
            "ALERT rule=%s title=%r source=%s published=%s actors=%r matched=%r url=%s",
            payload["rule"],
            payload["title"],
            payload.get("source"),
            payload.get("published"),
            actors,
            payload.get("matched"),
            payload["url"],
        )


class WebhookChannel:
    """POST the payload as JSON; retried with back-off; 4xx (but 408/429) is permanent."""

    kind = "webhook"

    def __init__(self, url: str, *, attempts: int = 3, timeout: float = 10.0) -> None:
        self.url = url
        self._attempts = attempts
        self._timeout = timeout

    def send(self, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False, default=str).encode()
        last = ""
        for attempt in range(1, self._attempts + 1):
            try:
                resp = httpx.post(
                    self.url,
                    content=body,
                    headers={"content-type": "application/json", "user-agent": "newsmon/0.1"},
                    timeout=self._timeout,
                )
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code < 300:
                    return
                last = f"HTTP {resp.status_code}"
                if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
                    raise PermanentError(f"webhook {self.url} refused the alert: {last}")
            if attempt < self._attempts:
                time.sleep(min(4.0, 0.25 * 2**attempt))
        raise TransientError(f"webhook {self.url} failed after {self._attempts} attempts: {last}")


def make_channel(config: ChannelConfig) -> Channel:
    if config.type == "log":
        return LogChannel()
    if config.type == "webhook":
        if config.url is None:
            raise ConfigError("a webhook channel needs a url")
        return WebhookChannel(str(config.url))
    raise ConfigError(f"unknown channel type {config.type!r}")
