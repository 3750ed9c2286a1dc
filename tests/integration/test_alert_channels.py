"""Real channels against real local receivers: email through an SMTP server on loopback
(aiosmtpd, with AUTH) parsed back; Slack payloads checked against the incoming-webhook schema;
webhook signatures verified the way a receiver would."""

from __future__ import annotations

import email
import json
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from alert.channels import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
    verify_signature,
)
from newsmon.config import ChannelConfig
from newsmon.errors import PermanentError, TransientError
from tests.helpers import serve

pytestmark = pytest.mark.integration

PAYLOAD: dict[str, Any] = {
    "kind": "alert", "alert_id": "a" * 32, "rule": "talks", "story_id": "s1",
    "article_id": "b" * 32, "title": "Zelensky invites Putin to Istanbul <talks> & more",
    "url": "https://example.org/istanbul", "source": "Wire",
    "published": "2025-05-11T09:30:00+00:00",
    "time": "2025-05-11 12:30 EEST", "timezone": "Europe/Kyiv",
    "matched": ["ceasefire", "actor:Vladimir Putin"], "actors": ["Vladimir Putin"],
    "topics": ["peace_talks"], "discover": "http://kibana.local/app/discover#/?_a=x",
}


# -- email ---------------------------------------------------------------------------------------

class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login, auth_data.password) == (b"alerts", b"s3cret")
        return AuthResult(success=ok)

    with socket.socket() as probe:  # aiosmtpd's start-up check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


def email_channel(port: int, password: str,
                  to: tuple[str, ...] = ("desk@example.org", "ed@example.org")) -> EmailChannel:
    cfg = ChannelConfig(type="email", host="127.0.0.1", port=port, security="none",
                        sender="newsmon@example.org", to=to, username="alerts",
                        password=password, timeout=5)  # type: ignore[arg-type]
    return EmailChannel(cfg)


def test_email_is_delivered_over_smtp_and_parses_back(smtp: tuple[int, Mailbox]) -> None:
    port, box = smtp
    email_channel(port, "s3cret").send(PAYLOAD)
    assert len(box.messages) == 1
    sender, rcpts, raw = box.messages[0]
    assert sender == "newsmon@example.org"
    assert rcpts == ["desk@example.org", "ed@example.org"]
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"].startswith("[newsmon] talks: Zelensky invites Putin")
    assert msg["Message-ID"] == f"<{'a' * 32}@newsmon>"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for expected in ("Wire · 2025-05-11 12:30 EEST", "https://example.org/istanbul",
                     "Matched: ceasefire, actor:Vladimir Putin", "Actors: Vladimir Putin",
                     "Kibana: http://kibana.local/"):
        assert expected in text
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "&lt;talks&gt; &amp; more" in html and 'href="https://example.org/istanbul"' in html


def test_email_refused_recipient_is_permanent_and_no_server_is_transient(
    smtp: tuple[int, Mailbox],
) -> None:
    port, box = smtp
    with pytest.raises(PermanentError, match="refused every recipient"):
        email_channel(port, "s3cret", to=("nobody@example.org",)).send(PAYLOAD)
    with pytest.raises(TransientError):
        email_channel(1, "s3cret").send(PAYLOAD)
    assert box.messages == []


# -- Slack ---------------------------------------------------------------------------------------

def slack_errors(body: dict[str, Any]) -> list[str]:
    """The parts of Slack's incoming-webhook schema we rely on (text + Block Kit)."""
    errors = []
    if not isinstance(body.get("text"), str) or not body["text"]:
        errors.append("text: required string")
    blocks = body.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        errors.append("blocks: a list of at most 50")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header":
            t = block.get("text", {})
            if t.get("type") != "plain_text" or not 0 < len(t.get("text", "")) <= 150:
                errors.append(f"blocks[{i}]: header needs plain_text ≤ 150")
        elif kind == "section":
            t = block.get("text", {})
            if t.get("type") not in ("mrkdwn", "plain_text") or not 0 < len(t["text"]) <= 3000:
                errors.append(f"blocks[{i}]: section text 1..3000")
        elif kind == "context":
            els = block.get("elements", [])
            if not 0 < len(els) <= 10 or any(e.get("type") not in ("mrkdwn", "plain_text",
                                                                   "image") for e in els):
                errors.append(f"blocks[{i}]: context elements 1..10")
        else:
            errors.append(f"blocks[{i}]: unexpected type {kind!r}")
        if set(block) - {"type", "text", "elements", "block_id", "fields", "accessory"}:
            errors.append(f"blocks[{i}]: unknown keys")
    return errors


class SlackReceiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        body = json.loads(req.rfile.read(int(req.headers["Content-Length"])))
        errors = slack_errors(body)
        status, reply = (400, b"invalid_blocks") if errors else (200, b"ok")
        if not errors:
            self.bodies.append(body)
        req.send_response(status)
        req.send_header("Content-Type", "text/plain")
        req.send_header("Content-Length", str(len(reply)))
        req.end_headers()
        req.wfile.write(reply)


def test_slack_payload_is_accepted_by_a_schema_checking_receiver() -> None:
    receiver = SlackReceiver()
    with serve(receiver) as base:
        SlackChannel(f"{base}/services/T/B/X").send(PAYLOAD)
        digest = {"kind": "digest", "rule": "talks", "period": "2025-05-11T00:00Z",
                  "alert_id": "d" * 32, "items": [PAYLOAD] * 30}
        SlackChannel(f"{base}/services/T/B/X").send(digest)
    assert len(receiver.bodies) == 2
    first = receiver.bodies[0]
    assert "&lt;talks&gt; &amp; more" in json.dumps(first)
    assert "<https://example.org/istanbul|" in first["blocks"][1]["text"]["text"]
    assert len(receiver.bodies[1]["blocks"]) <= 50


def test_slack_rejection_is_permanent() -> None:
    def refuse(req: BaseHTTPRequestHandler) -> None:
        req.send_response(404)
        req.end_headers()

    with serve(refuse) as base, pytest.raises(PermanentError, match="HTTP 404"):
        SlackChannel(f"{base}/x", attempts=1).send(PAYLOAD)


# -- webhook signature ---------------------------------------------------------------------------

def test_webhook_signature_is_verified_by_the_receiver() -> None:
    seen: list[tuple[bool, dict[str, Any], str]] = []

    def verify(req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers["Content-Length"]))
        ok = verify_signature("s3cret", body, req.headers[TIMESTAMP_HEADER],
                              req.headers[SIGNATURE_HEADER], now=time.time())
        seen.append((ok, json.loads(body), req.headers[DELIVERY_HEADER]))
        req.send_response(204 if ok else 401)
        req.end_headers()

    with serve(verify) as base:
        WebhookChannel(f"{base}/hook", secret="s3cret").send(PAYLOAD)
        with pytest.raises(PermanentError, match="HTTP 401"):
            WebhookChannel(f"{base}/hook", secret="other").send(PAYLOAD)
    assert [ok for ok, _, _ in seen] == [True, False]
    body, delivery = seen[0][1], seen[0][2]
    assert {"rule", "story_id", "article_id", "title", "url", "published", "matched",
            "actors"} <= body.keys()
    assert delivery == "a" * 32
