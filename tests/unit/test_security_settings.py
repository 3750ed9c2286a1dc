"""Secrets from env or files, never in reprs; client options per protocol; bad combinations are
ConfigError (exit 2). No servers needed."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from newsmon.config import Settings
from newsmon.errors import ConfigError, TransientError
from newsmon.security import es_security, kafka_security

SECRET = "s3cr3t-Value-42"


def test_secrets_never_in_settings_repr() -> None:
    s = Settings(es_password=SECRET, kafka_sasl_password=SECRET, es_api_key=None)
    for text in (repr(s), str(s), str(s.model_dump()), s.model_dump_json()):
        assert SECRET not in text
    sec = kafka_security(Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="u",
                                  kafka_sasl_password=SECRET))
    assert SECRET not in repr(sec) and sec.client_options()["sasl_plain_password"] == SECRET
    assert SECRET not in repr(es_security(Settings(es_password=SECRET)))


def test_secret_from_file_drops_one_newline(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text(SECRET + "\n")
    opts = es_security(Settings(es_password_file=path, es_username="newsmon")).client_options()
    assert opts == {"basic_auth": ("newsmon", SECRET)}


def test_env_and_file_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "k").write_text(SECRET)
    monkeypatch.setenv("NEWSMON_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("NEWSMON_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("NEWSMON_KAFKA_SASL_USERNAME", "newsmon")
    monkeypatch.setenv("NEWSMON_KAFKA_SASL_PASSWORD_FILE", str(tmp_path / "k"))
    assert kafka_security(Settings()).client_options() == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "newsmon", "sasl_plain_password": SECRET,
    }


def test_api_key_and_tls_options(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    sec = es_security(Settings(store="https://es:9200", es_api_key=SECRET, es_ca_certs=ca))
    assert sec.method == "api_key"
    assert sec.client_options() == {"api_key": SECRET, "ca_certs": str(ca)}
    opts = kafka_security(Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=ca,
                                   kafka_ssl_check_hostname=False)).client_options()
    assert opts == {"security_protocol": "SSL", "ssl_check_hostname": False,
                    "ssl_cafile": str(ca)}
    assert kafka_security(Settings()).client_options() == {"security_protocol": "PLAINTEXT"}
    assert es_security(Settings()).client_options() == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"es_password": "a", "es_password_file": Path("/nonexistent")}, "not both"),
        ({"es_password_file": Path("/nonexistent/pw")}, "cannot read"),
        ({"es_password": "a", "es_api_key": "b"}, "NEWSMON_ES_API_KEY, not both"),
        ({"es_ca_certs": Path("/nonexistent/ca.crt"), "store": "https://es:9200"}, "no such file"),
        ({"kafka_security_protocol": "SASL_SSL"}, "needs NEWSMON_KAFKA_SASL_USERNAME"),
    ],
)
def test_bad_combinations_are_config_errors(kwargs: dict[str, object], message: str) -> None:
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=message):
        es_security(settings)
        kafka_security(settings)


def test_kafka_login_check_with_no_broker_is_transient() -> None:
    from newsmon.adapters.kafka_auth import verify_credentials

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sec = kafka_security(Settings(kafka_security_protocol="SASL_PLAINTEXT",
                                  kafka_sasl_username="u", kafka_sasl_password=SECRET))
    with pytest.raises(TransientError, match="unreachable"):
        verify_credentials([f"127.0.0.1:{port}"], sec, timeout=2)
