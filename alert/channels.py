"""Alert channels: where a matched article is delivered (log, webhook, Slack, email).

A channel's ``send(payload)`` either returns (delivered), or raises :class:`TransientError`
(after its own retries: the ledger keeps the delivery pending and it is retried later) or
:class:`PermanentError` (the receiver refuses it: recorded as failed, never retried).

Every delivery carries the ledger's ``alert_id`` as an idempotency key (webhook and Slack:
header ``X-Newsmon-Delivery``; email: ``Message-ID``), so a receiver can drop the one repeat
that a crash between "delivered" and "recorded" can cause. Secrets are :class:`SecretStr`
and are never logged: channels are named in logs and the ledger by :attr:`label` (type and
host only).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

import httpx

from alert import templates
from newsmon.config import ChannelConfig
from newsmon.errors import ConfigError, PermanentError, TransientError

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Newsmon-Signature"
TIMESTAMP_HEADER = "X-Newsmon-Timestamp"
DELIVERY_HEADER = "X-Newsmon-Delivery"
USER_AGENT = "newsmon/0.1"


class Channel(Protocol):
    kind: str

    def send(self, payload: Mapping[str, Any]) -> None: ...


def budget(channel: object) -> float:
    """Worst-case seconds one ``send`` may take (a pending alert's lease must outlast it)."""
    return float(getattr(channel, "budget", 10.0))


class LogChannel:
    kind = "log"
    label = "log"
    budget = 1.0

    def send(self, payload: Mapping[str, Any]) -> None:
        f = templates.fields(payload)
        kind = payload.get("kind", "alert")
        if kind == "health":
            log.warning(
                "ALERT rule=%s kind=health feed=%s signal=%s state=%s since=%s detail=%r",
                f["rule"], f["feed"], f["signal"], payload.get("state"), payload.get("since"),
                f["detail"],
            )
            return
        if kind == "spike":
            log.warning("ALERT rule=%s kind=spike summary=%r top=%r url=%s matched=%r",
                        f["rule"], f["summary"], f["title"], f["url"], f["matched"])
            return
        log.warning(
            "ALERT rule=%s kind=%s title=%r source=%s time=%r actors=%r matched=%r url=%s"
            " fragment=%r",
            f["rule"], kind, f["title"], f["source"], f["time"],
            f["actors"], f["matched"], f["url"], f["fragment"],
        )


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 over ``<timestamp>.<body>`` (the timestamp is signed so
    a captured request cannot be replayed later)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, body: bytes, timestamp: str, signature: str, *, now: float,
    tolerance: float = 300.0,
) -> bool:
    """What a receiver does: recompute, compare in constant time, reject stale timestamps."""
    try:
        fresh = abs(now - float(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def _retry_after(resp: httpx.Response, default: float) -> float:
    try:
        return min(10.0, max(0.0, float(resp.headers.get("retry-after", default))))
    except ValueError:
        return default


class HttpPoster:
    """POST with retries and exponential back-off; 4xx but 408/429 is permanent."""

    def __init__(self, url: str, attempts: int, timeout: float) -> None:
        self.url, self.attempts, self.timeout = url, attempts, timeout
        self.host = httpx.URL(url).host

    @property
    def budget(self) -> float:
        sleeps = sum(min(4.0, 0.5 * 2.0**a) for a in range(self.attempts - 1))
        return self.attempts * self.timeout + sleeps + 10.0  # + a Retry-After of up to 10 s

    def post(self, body: bytes, headers: Callable[[], dict[str, str]], what: str) -> None:
        last, delay = "", 0.0
        for attempt in range(1, self.attempts + 1):
            try:
                resp = httpx.post(self.url, content=body, headers=headers(), timeout=self.timeout)
            except httpx.HTTPError as exc:
                last, delay = f"{type(exc).__name__}", min(4.0, 0.5 * 2 ** (attempt - 1))
            else:
                if resp.status_code < 300:
                    return
                last = f"HTTP {resp.status_code}"
                if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
                    raise PermanentError(f"{what} {self.host} refused the alert: {last}")
                delay = _retry_after(resp, min(4.0, 0.5 * 2 ** (attempt - 1)))
            if attempt < self.attempts:
                time.sleep(delay)
        raise TransientError(f"{what} {self.host} failed after {self.attempts} attempts: {last}")


class WebhookChannel:
    """POST the payload as JSON. With a secret, sign it (see :func:`sign`)."""

    kind = "webhook"

    def __init__(
        self, url: str, *, secret: str | None = None, attempts: int = 3, timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = HttpPoster(url, attempts, timeout)
        self._secret, self._clock = secret, clock
        self.url = url
        self.label = f"webhook:{self._http.host}"
        self.budget = self._http.budget

    def send(self, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False, default=str).encode()

        def headers() -> dict[str, str]:
            h = {"content-type": "application/json", "user-agent": USER_AGENT,
                 DELIVERY_HEADER: str(payload.get("alert_id", ""))}
            if self._secret is not None:
                ts = str(int(self._clock()))
                h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER] = ts, sign(self._secret, ts, body)
            return h

        self._http.post(body, headers, "webhook")


class SlackChannel:
    """Slack incoming webhook: ``{"text", "blocks"}`` (see :func:`templates.slack_message`)."""

    kind = "slack"

    def __init__(self, url: str, *, attempts: int = 3, timeout: float = 10.0,
                 template: str | None = None) -> None:
        self._http = HttpPoster(url, attempts, timeout)
        self._template = template
        self.label = f"slack:{self._http.host}"
        self.budget = self._http.budget

    def send(self, payload: Mapping[str, Any]) -> None:
        body = json.dumps(templates.slack_message(payload, self._template)).encode()
        delivery = str(payload.get("alert_id", ""))
        self._http.post(
            body,
            lambda: {"content-type": "application/json", "user-agent": USER_AGENT,
                     DELIVERY_HEADER: delivery},
            "slack",
        )


class EmailChannel:
    """SMTP delivery: ``starttls`` (default, port 587), ``ssl`` (465) or ``none`` (25);
    login when a username is set. One message per alert, text plus HTML alternative."""

    kind = "email"

    def __init__(self, cfg: ChannelConfig, subject: str | None = None,
                 text: str | None = None) -> None:
        self.cfg = cfg
        self.port = cfg.port or {"starttls": 587, "ssl": 465, "none": 25}[cfg.security]
        self._subject, self._text = subject, text
        self.label = f"email:{','.join(cfg.to)}"
        self.budget = cfg.timeout * 3

    def message(self, payload: Mapping[str, Any]) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = templates.subject(payload, self._subject)
        msg["From"] = str(self.cfg.sender)
        msg["To"] = ", ".join(self.cfg.to)
        msg["Date"] = formatdate(localtime=False)
        aid = str(payload.get("alert_id") or "")
        msg["Message-ID"] = f"<{aid}@newsmon>" if aid else make_msgid(domain="newsmon")
        msg.set_content(templates.text_body(payload, self._text))
        msg.add_alternative(templates.html_body(payload), subtype="html")
        return msg

    def send(self, payload: Mapping[str, Any]) -> None:
        msg = self.message(payload)
        try:
            with self._connect() as smtp:
                if self.cfg.username is not None and self.cfg.password is not None:
                    smtp.login(self.cfg.username, self.cfg.password.get_secret_value())
                smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            kind = TransientError if 400 <= exc.smtp_code < 500 else PermanentError
            raise kind(f"smtp {self.cfg.host} answered {exc.smtp_code}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"smtp {self.cfg.host} refused every recipient") from exc
        except (smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError) as exc:
            raise PermanentError(f"smtp {self.cfg.host}: {type(exc).__name__}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"smtp {self.cfg.host} failed: {type(exc).__name__}") from exc

    def _connect(self) -> smtplib.SMTP:
        host, timeout = str(self.cfg.host), self.cfg.timeout
        context = ssl.create_default_context()
        if self.cfg.security == "ssl":
            return smtplib.SMTP_SSL(host, self.port, timeout=timeout, context=context)
        smtp = smtplib.SMTP(host, self.port, timeout=timeout)
        if self.cfg.security == "starttls":
            smtp.starttls(context=context)
        return smtp


def make_channel(config: ChannelConfig, subject: str | None = None,
                 text: str | None = None) -> Channel:
    secret = config.secret.get_secret_value() if config.secret is not None else None
    if config.type == "log":
        return LogChannel()
    if config.type == "email":
        return EmailChannel(config, subject, text)
    if config.url is None:
        raise ConfigError(f"a {config.type} channel needs a url")
    if config.type == "webhook":
        return WebhookChannel(str(config.url), secret=secret, attempts=config.attempts,
                              timeout=config.timeout)
    if config.type == "slack":
        return SlackChannel(str(config.url), attempts=config.attempts, timeout=config.timeout,
                            template=subject)
    raise ConfigError(f"unknown channel type {config.type!r}")
