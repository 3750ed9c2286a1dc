"""Credentials and TLS options for Kafka and Elasticsearch, resolved from :class:`Settings`.

Secrets come from the environment (``NEWSMON_ES_PASSWORD``) or from a file named by the
``..._FILE`` twin (``NEWSMON_ES_PASSWORD_FILE=/run/secrets/es``: container and systemd
credentials). Settings hold them as ``SecretStr``; they are revealed only here, into
:class:`KafkaSecurity` / :class:`ElasticsearchSecurity`, whose ``repr`` never shows them, and from
there only into the vendor clients' options. Nothing in this module logs.

Wrong combinations (a password and a password file, SASL without a user) are
:class:`ConfigError`: the service exits with status 2 and one line naming the variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from newsmon.errors import ConfigError

if TYPE_CHECKING:
    from newsmon.config import Settings

SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
TLS_PROTOCOLS = ("SSL", "SASL_SSL")


def read_secret(value: SecretStr | None, path: Path | None, name: str) -> str | None:
    """The secret from ``NEWSMON_<NAME>`` or the file ``NEWSMON_<NAME>_FILE`` (one trailing
    newline dropped); None when neither is set. Setting both is an error."""
    if value is not None and path is not None:
        raise ConfigError(f"set NEWSMON_{name} or NEWSMON_{name}_FILE, not both")
    if value is not None:
        return value.get_secret_value()
    if path is None:
        return None
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(
            f"NEWSMON_{name}_FILE: cannot read {path}: {exc.strerror or exc}"
        ) from exc
    secret = text.removesuffix("\n").removesuffix("\r")
    if not secret:
        raise ConfigError(f"NEWSMON_{name}_FILE: {path} is empty")
    return secret


def _existing(path: Path | None, name: str) -> str | None:
    if path is None:
        return None
    if not path.is_file():
        raise ConfigError(f"NEWSMON_{name}: no such file {path}")
    return str(path)


@dataclass(frozen=True)
class KafkaSecurity:
    """kafka-python security options. ``password`` is excluded from ``repr``."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "PLAIN"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    check_hostname: bool = True

    @property
    def sasl(self) -> bool:
        return self.protocol in SASL_PROTOCOLS

    @property
    def tls(self) -> bool:
        return self.protocol in TLS_PROTOCOLS

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for KafkaProducer / KafkaConsumer / KafkaAdminClient."""
        opts: dict[str, Any] = {"security_protocol": self.protocol}
        if self.sasl:
            opts |= {
                "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        if self.tls:
            opts["ssl_check_hostname"] = self.check_hostname
            for key in ("cafile", "certfile", "keyfile"):
                if getattr(self, key) is not None:
                    opts[f"ssl_{key}"] = getattr(self, key)
        return opts


@dataclass(frozen=True)
class ElasticsearchSecurity:
    """Elasticsearch client options. Secrets are excluded from ``repr``."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True

    @property
    def method(self) -> str:
        """How requests authenticate: ``api_key``, ``basic`` or ``none`` (for messages)."""
        if self.api_key:
            return "api_key"
        return "basic" if self.password is not None else "none"

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``elasticsearch.Elasticsearch``."""
        opts: dict[str, Any] = {}
        if self.api_key:
            opts["api_key"] = self.api_key
        elif self.password is not None:
            opts["basic_auth"] = (self.username or "elastic", self.password)
        if self.ca_certs is not None:
            opts["ca_certs"] = self.ca_certs
        if not self.verify_certs:
            opts["verify_certs"] = False
            opts["ssl_show_warn"] = False
        return opts


def kafka_security(settings: Settings) -> KafkaSecurity:
    protocol = settings.kafka_security_protocol
    password = read_secret(
        settings.kafka_sasl_password, settings.kafka_sasl_password_file, "KAFKA_SASL_PASSWORD"
    )
    if protocol in SASL_PROTOCOLS and not (settings.kafka_sasl_username and password):
        raise ConfigError(
            f"NEWSMON_KAFKA_SECURITY_PROTOCOL={protocol} needs NEWSMON_KAFKA_SASL_USERNAME and "
            "NEWSMON_KAFKA_SASL_PASSWORD (or NEWSMON_KAFKA_SASL_PASSWORD_FILE)"
        )
    return KafkaSecurity(
        protocol=protocol,
        mechanism=settings.kafka_sasl_mechanism,
        username=settings.kafka_sasl_username,
        password=password,
        cafile=_existing(settings.kafka_ssl_cafile, "KAFKA_SSL_CAFILE"),
        certfile=_existing(settings.kafka_ssl_certfile, "KAFKA_SSL_CERTFILE"),
        keyfile=_existing(settings.kafka_ssl_keyfile, "KAFKA_SSL_KEYFILE"),
        check_hostname=settings.kafka_ssl_check_hostname,
    )


def es_security(settings: Settings) -> ElasticsearchSecurity:
    password = read_secret(settings.es_password, settings.es_password_file, "ES_PASSWORD")
    api_key = read_secret(settings.es_api_key, settings.es_api_key_file, "ES_API_KEY")
    if password is not None and api_key is not None:
        raise ConfigError("set NEWSMON_ES_PASSWORD or NEWSMON_ES_API_KEY, not both")
    if settings.es_ca_certs is not None and settings.store.startswith("http://"):
        raise ConfigError("NEWSMON_ES_CA_CERTS is set but NEWSMON_STORE is http://, not https://")
    return ElasticsearchSecurity(
        username=settings.es_username,
        password=password,
        api_key=api_key,
        ca_certs=_existing(settings.es_ca_certs, "ES_CA_CERTS"),
        verify_certs=settings.es_verify_certs,
    )
