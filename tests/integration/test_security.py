"""Secured services: Elasticsearch with ``xpack.security.enabled: true`` (HTTPS, the ``elastic``
password set through the keystore tool, basic auth and an API key) and a Kafka listener that
requires SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), both started by
``deploy/local/secure-services`` beside the plain pair (own state dir and ports).

Right credentials: write + search, publish + consume, and the ``index`` service indexes what
reaches Kafka. Wrong credentials: the service exits within seconds with status 2 and one line,
not a retry loop. Secrets appear neither in logs nor in ``repr(settings)``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newsmon.bus import TAGGED_TOPIC
from newsmon.config import Settings
from newsmon.documents import search_document
from newsmon.errors import ConfigError
from newsmon.schema import Actor, TaggedArticle, Topic, article_id, encode
from newsmon.security import es_security, kafka_security
from newsmon.wiring import make_bus, make_store
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

SECURE = ROOT / "deploy" / "local" / "secure-services"
T0 = datetime(2025, 5, 1, tzinfo=UTC)
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@pytest.fixture(scope="session")
def secure_env() -> Iterator[dict[str, str]]:
    """NEWSMON_* variables of the secured pair (started here, stopped at the end)."""
    proc = subprocess.run(
        [str(SECURE), "up"], capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"could not start the secured Kafka + Elasticsearch:\n{proc.stderr[-4000:]}")
    env: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        for pair in line.removeprefix("export ").split():
            key, _, value = pair.partition("=")
            env[key] = value
    yield env
    if os.environ.get("NEWSMON_TEST_KEEP_SERVICES") != "1":
        subprocess.run([str(SECURE), "down"], capture_output=True, timeout=300, check=False)


def secret(env: dict[str, str], name: str) -> str:
    return Path(env[f"{name}_FILE"]).read_text().strip()


def settings_for(env: dict[str, str], ns: str, **overrides: str | None) -> Settings:
    """Settings as a service would read them from this environment (None: unset)."""
    values: dict[str, str | None] = {**env, "NEWSMON_NAMESPACE": ns, **overrides}
    old = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        return Settings()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def tagged(i: int, ns: str) -> TaggedArticle:
    url = f"https://secure.example/{ns}/{i}"
    return TaggedArticle(
        article_id=article_id(url), url=url, title=f"Secured talks in Geneva {i}",
        text="Negotiators discussed a ceasefire behind closed doors.", source="Secure Wire",
        published=T0, fetched=T0, story_id=f"s{i}", tagged=T0,
        topics=(Topic(name="peace_talks", score=0.9),),
        actors=(Actor(name="Volodymyr Zelensky", type="person", salience=0.8),),
    )


def drop_namespace(store: Any, ns: str) -> None:
    assert store.alias.startswith(ns)
    store.drop()


def write_and_search(settings: Settings, ns: str) -> None:
    store = make_store(settings)
    try:
        store.ensure_schema()
        result = store.write_articles([search_document(tagged(i, ns)) for i in range(3)])
        assert len(result.written) == 3, result
        store.refresh()
        assert store.search("ceasefire AND Geneva").total == 3
    finally:
        store.close()


# --- Elasticsearch ------------------------------------------------------------------------


def test_es_basic_auth_over_https_write_and_search(secure_env: dict[str, str]) -> None:
    ns = f"sec{uuid.uuid4().hex[:8]}-"
    settings = settings_for(secure_env, ns)
    assert settings.store.startswith("https://")
    assert es_security(settings).method == "basic"
    write_and_search(settings, ns)
    cleanup = make_store(settings)
    drop_namespace(cleanup, ns)
    cleanup.close()


def test_es_api_key_reaches_the_api_key_realm(secure_env: dict[str, str]) -> None:
    """NEWSMON_ES_API_KEY makes the client send ``Authorization: ApiKey``: ES's API-key realm
    (not basic auth) judges it, and a key it never issued is one ConfigError."""
    import base64

    key = base64.b64encode(b"newsmon-probe-id:not-a-key").decode()
    settings = settings_for(secure_env, "secx-", NEWSMON_ES_API_KEY=key,
                            NEWSMON_ES_PASSWORD_FILE=None)
    assert es_security(settings).method == "api_key"
    with pytest.raises(ConfigError, match="HTTP 401") as caught:
        make_store(settings).count()
    info = caught.value.__cause__.info  # type: ignore[union-attr]
    assert "apikey authentication for id newsmon-probe-id" in str(info)


def test_es_api_key_created_by_the_api_then_write_and_search(secure_env: dict[str, str]) -> None:
    """Create a key with ``POST _security/api_key`` and run the store with it. The integ-test-zip
    cannot create the ``.security`` index that keys live in (its mapping needs the
    analysis-common module, which that zip lacks): then this test xfails, visibly, with the
    reason; on a full distribution (deploy/compose.yaml) it runs to the end."""
    from elasticsearch import BadRequestError

    ns = f"sec{uuid.uuid4().hex[:8]}-"
    admin = make_store(settings_for(
        secure_env, ns, NEWSMON_ES_USERNAME="elastic",
        NEWSMON_ES_PASSWORD_FILE=secure_env["NEWSMON_ES_PASSWORD_FILE"].replace(
            "es-newsmon", "es-elastic")))
    try:
        try:
            created = admin.client.security.create_api_key(name=f"newsmon-{ns}", expiration="1h")
        except BadRequestError as exc:
            if "pattern_capture" not in str(exc):
                raise
            pytest.xfail(f"integ-test-zip cannot store API keys (no analysis-common): {exc}")
        settings = settings_for(secure_env, ns, NEWSMON_ES_API_KEY=created["encoded"],
                                NEWSMON_ES_PASSWORD_FILE=None)
        assert es_security(settings).method == "api_key"
        write_and_search(settings, ns)
        admin.client.security.invalidate_api_key(ids=[created["id"]])
    finally:
        drop_namespace(admin, ns)
        admin.close()


def test_es_least_privilege_user_is_denied_outside_news_indices(
    secure_env: dict[str, str],
) -> None:
    store = make_store(settings_for(secure_env, "secx-"))
    try:
        assert store.count() == 0  # authenticated (nothing indexed in this namespace)
        with pytest.raises(ConfigError, match="HTTP 403"):
            store.client.indices.create(index="not-newsmon")
    finally:
        store.close()


def test_es_wrong_password_is_one_config_error(secure_env: dict[str, str]) -> None:
    settings = settings_for(secure_env, "secx-", NEWSMON_ES_PASSWORD_FILE=None,
                            NEWSMON_ES_PASSWORD="not-the-password")
    started = time.monotonic()
    with pytest.raises(ConfigError, match="HTTP 401"):
        make_store(settings).ensure_schema()
    assert time.monotonic() - started < 5


# --- Kafka --------------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_sasl_publish_and_consume(secure_env: dict[str, str], mechanism: str) -> None:
    ns = f"sec{uuid.uuid4().hex[:8]}."
    settings = settings_for(secure_env, ns, NEWSMON_KAFKA_SASL_MECHANISM=mechanism)
    assert kafka_security(settings).sasl
    bus = make_bus(settings)
    bus.ensure_topics([TAGGED_TOPIC])
    bus.publish(TAGGED_TOPIC, "k1", b"hello over SASL", {"h": b"v"})
    bus.flush()
    consumer = bus.consumer("g", [TAGGED_TOPIC])
    try:
        deadline, got = time.monotonic() + 60, []
        while not got and time.monotonic() < deadline:
            got = consumer.poll(timeout=1.0)
        assert [(r.key, r.value) for r in got] == [("k1", b"hello over SASL")]
        consumer.commit()
    finally:
        consumer.close()
        bus.close()


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_wrong_password_is_one_config_error(
    secure_env: dict[str, str], mechanism: str
) -> None:
    settings = settings_for(secure_env, "secx.", NEWSMON_KAFKA_SASL_MECHANISM=mechanism,
                            NEWSMON_KAFKA_SASL_PASSWORD_FILE=None,
                            NEWSMON_KAFKA_SASL_PASSWORD="not-the-password")
    started = time.monotonic()
    with pytest.raises(ConfigError, match="rejected the SASL login"):
        make_bus(settings).ensure_topics()
    assert time.monotonic() - started < 5


def test_kafka_plaintext_client_is_refused(secure_env: dict[str, str]) -> None:
    """The listener requires SASL: a client without it gets nothing done (and fails)."""
    settings = settings_for(secure_env, "secx.", NEWSMON_KAFKA_SECURITY_PROTOCOL="PLAINTEXT")
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    with pytest.raises(KafkaError):
        KafkaAdminClient(bootstrap_servers=settings.bus.removeprefix("kafka://"),
                         request_timeout_ms=3000, api_version_auto_timeout_ms=3000,
                         bootstrap_timeout_ms=4000).list_topics()


# --- the services as OS processes --------------------------------------------------------


def service_env(secure_env: dict[str, str], ns: str, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update(secure_env)
    env.update(NEWSMON_NAMESPACE=ns, NEWSMON_METRICS_PORT="0", NEWSMON_LOG_FORMAT="json",
               NEWSMON_DATA_DIR=str(Path("/tmp") / f"newsmon-{ns}"))
    env.update(overrides)
    return {k: v for k, v in env.items() if v != ""}


@pytest.mark.parametrize(
    ("stage", "broken"),
    [
        ("index", "NEWSMON_ES_PASSWORD"),
        ("index", "NEWSMON_KAFKA_SASL_PASSWORD"),
        ("process", "NEWSMON_KAFKA_SASL_PASSWORD"),
    ],
)
def test_service_with_wrong_password_exits_2_with_one_line(
    secure_env: dict[str, str], python: str, stage: str, broken: str
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    env = service_env(secure_env, f"secx{uuid.uuid4().hex[:6]}-", **{broken: wrong,
                      f"{broken}_FILE": ""})
    started = time.monotonic()
    proc = subprocess.run([python, "-m", "newsmon", stage], env=env, capture_output=True,
                          text=True, timeout=90, check=False)
    elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    errors = [line for line in proc.stderr.splitlines() if line.startswith("newsmon: error:")]
    assert len(errors) == 1, output
    assert "rejected the credentials" in errors[0] or "rejected the SASL login" in errors[0]
    assert "Traceback" not in output
    assert wrong not in output
    assert elapsed < (30 if stage == "process" else 10), f"{stage} took {elapsed:.1f}s"


def test_index_service_indexes_over_sasl_and_https_without_leaking_secrets(
    secure_env: dict[str, str], python: str, tmp_path: Path
) -> None:
    ns = f"sec{uuid.uuid4().hex[:8]}-"
    es_password = secret(secure_env, "NEWSMON_ES_PASSWORD")
    kafka_password = secret(secure_env, "NEWSMON_KAFKA_SASL_PASSWORD")
    env = service_env(secure_env, ns, NEWSMON_LOG_LEVEL="DEBUG")
    settings = settings_for(secure_env, ns)
    for text in (repr(settings), str(settings), repr(es_security(settings)),
                 repr(kafka_security(settings)), str(settings.model_dump())):
        assert es_password not in text and kafka_password not in text
    bus = make_bus(settings)
    bus.ensure_topics()
    for i in range(5):
        a = tagged(i, ns)
        bus.publish(TAGGED_TOPIC, a.article_id, encode(a))
    bus.flush()
    bus.close()
    log_path = tmp_path / "index.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([python, "-m", "newsmon", "index"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    store = make_store(settings)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            store.refresh()
            if store.count("Geneva") == 5:
                break
            time.sleep(1)
        assert store.count("Geneva") == 5, log_path.read_text()[-3000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        drop_namespace(store, ns)
        store.close()
    logs = log_path.read_text()
    assert "DEBUG" in logs or '"debug"' in logs.lower()  # the log level really was DEBUG
    assert es_password not in logs and kafka_password not in logs
    assert proc.returncode == 0, logs[-3000:]
