"""Settings (environment, prefix ``NEWSMON_``) and the data files they point at (feeds, rules).

One typed, frozen :class:`Settings` object is built by the CLI and passed down; nothing else
reads the environment. Feed and rule files are YAML lists validated by pydantic models; errors
name the file, the entry and its line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsmon.errors import ConfigError
from newsmon.schema import TRACKING_PARAMS, TRACKING_PREFIXES, Tracking

T = TypeVar("T", bound=BaseModel)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "newsmon"


class IngestSettings(BaseModel):
    """Feed poller tuning (environment ``NEWSMON_INGEST__<FIELD>``, e.g.
    ``NEWSMON_INGEST__HOST_SPACING=2``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workers: int = Field(default=16, ge=1, description="feeds fetched in parallel (threads)")
    host_concurrency: int = Field(default=2, ge=1, description="requests in flight per host")
    host_spacing: float = Field(
        default=0.5, ge=0, description="min seconds between requests to one host"
    )
    min_interval: float = Field(
        default=60.0, gt=0, description="fastest adaptive poll interval (s)"
    )
    max_interval: float = Field(
        default=6 * 3600.0, gt=0, description="slowest adaptive poll interval (s)"
    )
    max_redirects: int = Field(default=5, ge=0, description="redirect hops followed per fetch")
    http2: bool = Field(default=True, description="offer HTTP/2 (ALPN) to TLS servers")
    parse_processes: int = Field(
        default=0,
        ge=0,
        description="worker processes that parse changed feeds (feedparser holds the GIL; "
        "1+ puts parsing on another core); 0: parse in the fetching threads",
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="PEM file of extra CA certificates trusted for feeds and article pages "
        "(an internal CA), in addition to the default ones; certificates are always verified",
    )
    full_text_min_chars: int = Field(
        default=400, ge=0, description="items with less text are summaries (full text fetched)"
    )
    full_text_per_poll: int = Field(
        default=20, ge=0, description="article pages fetched per feed poll"
    )
    stale_factor: float = Field(
        default=8.0, gt=1, description="stale: no new item for this many times the interval"
    )
    silence_factor: float = Field(
        default=3.0,
        gt=1,
        description="health: a feed is silent after no new item for this many times the "
        "longest of its recent gaps between new items",
    )
    silence_min_gaps: int = Field(
        default=5, ge=1, description="health: recent gaps needed before silence is judged"
    )
    silence_min_history: float = Field(
        default=86400.0,
        ge=0,
        description="health: seconds of new-item history needed before silence is judged",
    )
    storm_polls: int = Field(
        default=2, ge=1, description="health: polls in a row answered 403/429 that make a storm"
    )
    same_link_min_items: int = Field(
        default=3, ge=2, description="health: items needed to call 'every item has one link'"
    )
    tracking_params: tuple[str, ...] = Field(
        default=tuple(sorted(TRACKING_PARAMS)) + tuple(f"{p}*" for p in TRACKING_PREFIXES),
        description="query parameters dropped from article URLs before hashing them into "
        "article_id ('name', or 'prefix*'); changing them changes the ids of URLs that carry "
        "them (such an article may be published once more)",
    )
    extra_tracking_params: tuple[str, ...] = Field(
        default=(), description='added to tracking_params (e.g. \'["cmpid", "ito"]\')'
    )
    store_check_every: float = Field(
        default=3600.0,
        ge=0,
        description="seconds between checks that the store holds what the seen-state calls "
        "published (also at start and on taking feeds over); 0: never",
    )
    store_check_grace: float = Field(
        default=60.0,
        ge=0,
        description="articles published less than this many seconds ago are not checked "
        "(still on their way to the store)",
    )

    def tracking(self) -> Tracking:
        return Tracking.from_patterns((*self.tracking_params, *self.extra_tracking_params))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSMON_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    bus: str = Field("memory://", description="memory:// or kafka://host:9092[,host2:9092]")
    store: str = Field(
        "",
        description="sqlite:///path.db (default: newsmon.db in data_dir), memory:// or "
        "http(s)://host:9200",
    )
    feeds: Path | None = Field(None, description="YAML list of feeds")
    rules: Path | None = Field(None, description="YAML list of alert rules")
    data_dir: Path = Field(default_factory=default_data_dir, description="state (seen items)")
    kafka_partitions: int = Field(3, ge=1)
    namespace: str = Field(
        "",
        pattern=r"^[a-z0-9_.-]*$",
        description="prefix for Kafka topics/groups and Elasticsearch names (tests, tenants)",
    )
    batch_size: int = Field(64, ge=1, description="records per consume batch")
    poll_interval: float = Field(300.0, gt=0, description="default seconds between feed polls")
    fetch_timeout: float = Field(20.0, gt=0)
    max_feed_bytes: int = Field(10 * 1024 * 1024, gt=0)
    allow_private_addresses: bool = Field(False, description="lift the SSRF guard")
    ingest: IngestSettings = IngestSettings()
    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="/metrics + /healthz port (default per stage; 0: off)"
    )
    metrics_host: str = Field("127.0.0.1", description="bind address of /metrics + /healthz")
    web_host: str = Field("127.0.0.1", description="bind address of the analyst page (web)")
    web_port: int = Field(
        9460, ge=0, le=65535, description="port of the analyst page (0: `newsmon run` starts none)"
    )
    web_token: SecretStr | None = Field(
        None, description="unlocks the page's actions (silence, rule edit); unset: read-only"
    )
    web_token_file: Path | None = Field(None, description="file holding web_token")
    shutdown_timeout: float = Field(
        30.0, gt=0, description="seconds from SIGTERM to a forced exit (status 70) of a service"
    )
    log_format: Literal["auto", "text", "json"] = "auto"
    log_level: str = "INFO"
    index_rollover_max_docs: int | None = Field(
        None, ge=1, description="roll news-articles over after this many documents"
    )
    index_rollover_max_size: str | None = Field(
        "50gb", description="roll over at this primary shard size (Elasticsearch byte units)"
    )
    index_rollover_max_age: str | None = Field(
        "30d", description="roll over when the write index is this old (Elasticsearch time units)"
    )
    index_rollover_check_every: float = Field(
        300.0, gt=0, description="seconds between the indexer's rollover checks"
    )
    story_shards: int = Field(
        1, ge=1, le=64, description="primary shards of news-story-bands/-records when created"
    )
    index_batch_max_records: int = Field(
        1000, ge=1, description="index service: records per bulk batch (across polls)"
    )
    index_batch_max_bytes: int = Field(
        8 * 1024 * 1024, ge=1, description="index service: payload bytes per bulk batch"
    )
    index_batch_linger: float = Field(
        0.5, ge=0, description="index service: seconds to wait for a batch to fill"
    )
    # security (resolved by newsmon.security; a secret X may come from the file X_FILE instead)
    es_username: str = Field("elastic", description="Elasticsearch basic-auth user")
    es_password: SecretStr | None = Field(None, description="Elasticsearch basic-auth password")
    es_password_file: Path | None = Field(None, description="file holding es_password")
    es_api_key: SecretStr | None = Field(None, description="Elasticsearch API key (encoded)")
    es_api_key_file: Path | None = Field(None, description="file holding es_api_key")
    es_ca_certs: Path | None = Field(None, description="CA bundle (PEM) for an https:// store")
    es_verify_certs: bool = Field(True, description="verify the store's TLS certificate")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_password_file: Path | None = Field(None, description="file holding the password")
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle (PEM) for SSL/SASL_SSL")
    kafka_ssl_certfile: Path | None = Field(None, description="client certificate (mutual TLS)")
    kafka_ssl_keyfile: Path | None = Field(None, description="client key (mutual TLS)")
    kafka_ssl_check_hostname: bool = True

    @model_validator(mode="after")
    def _embedded_store_in_data_dir(self) -> Settings:
        if not self.store:
            object.__setattr__(self, "store", f"sqlite://{self.data_dir / 'newsmon.db'}")
        return self


class FeedConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: HttpUrl
    name: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    country: str | None = None
    interval: float | None = Field(None, gt=0, description="seconds between polls")
    full_text: bool | None = None

    @property
    def display_name(self) -> str:
        return self.name or str(self.url)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DIGEST = re.compile(r"^(\d+[mh]|hourly|daily(?: ([01]\d|2[0-3]):([0-5]\d))?)$")


def parse_duration(value: Any) -> timedelta:
    """``90`` (seconds), ``"30s"``, ``"15m"``, ``"2h"``, ``"1d"``, ``"1w"`` → timedelta > 0."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    else:
        raise ValueError(f"not a duration: {value!r} (e.g. 90, 30m, 2h, 1d)")
    if seconds <= 0:
        raise ValueError(f"a duration must be positive: {value!r}")
    return timedelta(seconds=seconds)


def _drop_line(data: Any) -> Any:
    """Nested mappings from the YAML loader carry ``__line__``: not a field."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k != "__line__"}
    return data


class ChannelConfig(BaseModel):
    """One delivery channel of a rule. ``type`` picks the fields that apply:

    * ``log``: nothing else;
    * ``webhook``: ``url``; optional ``secret`` (HMAC-SHA256 signature header), ``attempts``,
      ``timeout``;
    * ``slack``: ``url`` (an incoming-webhook URL), ``attempts``, ``timeout``;
    * ``email``: ``to`` (list), ``sender``, ``host``, ``port``, ``security``
      (``starttls`` | ``ssl`` | ``none``), optional ``username`` + ``password``, ``timeout``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["log", "webhook", "slack", "email"]
    url: HttpUrl | None = None
    secret: SecretStr | None = None
    attempts: int = Field(default=3, ge=1, le=10)
    timeout: float = Field(default=10.0, gt=0, le=120)
    to: tuple[str, ...] = ()
    sender: str | None = None
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None

    _strip_line = model_validator(mode="before")(_drop_line)

    @model_validator(mode="after")
    def _fields_for_type(self) -> ChannelConfig:
        if self.type in ("webhook", "slack") and self.url is None:
            raise ValueError(f"a {self.type} channel needs a url")
        if self.type == "email":
            missing = [n for n in ("host", "sender") if getattr(self, n) is None]
            missing += [] if self.to else ["to"]
            if missing:
                raise ValueError(f"an email channel needs {', '.join(missing)}")
            bad = [a for a in (*self.to, self.sender) if "@" not in str(a)]
            if bad:
                raise ValueError(f"not an email address: {bad[0]!r}")
            if (self.username is None) != (self.password is None):
                raise ValueError("an email channel needs both username and password, or neither")
        return self

    @property
    def label(self) -> str:
        """How logs and the ledger name this channel (never the secret, nor URL paths)."""
        if self.type == "email":
            return f"email:{','.join(self.to)}"
        if self.url is not None:
            return f"{self.type}:{self.url.host}"
        return self.type


class TemplateConfig(BaseModel):
    """Message text with ``{placeholders}``: rule, title, source, time, url, matched, actors,
    topics, discover, story_id, article_id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str = "[newsmon] {rule}: {title}"
    text: str | None = None

    _strip_line = model_validator(mode="before")(_drop_line)


class RuleConfig(BaseModel):
    """An alert rule: ``query`` (Lucene syntax, as in search) plus optional filters.

    ``topics`` / ``actors``: the article must carry one of them (case-insensitive; actors are
    the principal actors, as the ``actor`` field). ``realert``: one alert per (rule, story)
    within this window of article time (default ``1d``; later matches of the story only update
    the ledger entry). ``digest``: instead of one message per story, one message per period:
    ``30m`` / ``2h`` (periods from local midnight; must divide a day), ``hourly``, ``daily``
    or ``daily HH:MM`` (in ``timezone``). ``kibana_url``: messages link to Discover there.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: Literal["match", "spike", "health"] = "match"
    query: str | None = Field(None, min_length=1)
    channels: tuple[ChannelConfig, ...] = (ChannelConfig(type="log"),)
    topics: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    realert: timedelta | None = timedelta(days=1)
    digest: str | None = None
    timezone: str = "UTC"
    kibana_url: HttpUrl | None = None
    template: TemplateConfig | None = None
    immediate: bool = False  # with a digest: send at once too
    # kind: spike (see alert/spikes.py for the defaults of the fields left empty)
    window: timedelta | None = None
    k: float | None = Field(default=None, gt=1)
    min_publishers: int | None = Field(default=None, ge=1)
    min_count: int | None = Field(default=None, ge=1)
    count: Literal["stories", "articles"] | None = None
    half_life: timedelta | None = None
    warmup: timedelta | None = None
    backfill: timedelta | None = None
    top: int | None = Field(default=None, ge=1, le=20)
    # kind: health
    signals: tuple[str, ...] | None = None
    resolved: bool | None = None

    _strip_line = model_validator(mode="before")(_drop_line)

    @field_validator("window", "half_life", "warmup", mode="before")
    @classmethod
    def _positive(cls, v: Any) -> timedelta | None:
        return None if v is None else parse_duration(v)

    @field_validator("backfill", mode="before")
    @classmethod
    def _backfill(cls, v: Any) -> timedelta | None:
        return timedelta(0) if v in (0, "0", False, "none", "never") else _optional_duration(v)

    @field_validator("window")
    @classmethod
    def _divides_a_week(cls, v: timedelta | None) -> timedelta | None:
        if v is None:
            return None
        seconds = v.total_seconds()
        if seconds < 240 or seconds % 60 or 604800 % seconds:
            raise ValueError(
                f"{v}: a window of whole minutes, at least 4m, that divides a week "
                "(e.g. 30m, 1h, 6h, 1d)"
            )
        return v

    @field_validator("signals", mode="before")
    @classmethod
    def _known_signals(cls, v: Any) -> Any:
        values = (v,) if isinstance(v, str) else v
        unknown = [s for s in values or () if s not in HEALTH_SIGNALS]
        if unknown:
            raise ValueError(f"unknown signal {unknown[0]!r} (known: {', '.join(HEALTH_SIGNALS)})")
        return values

    @model_validator(mode="after")
    def _fields_for_kind(self) -> RuleConfig:
        own = {"spike": SPIKE_FIELDS, "health": HEALTH_FIELDS}
        for kind, names in own.items():
            wrong = [n for n in names if self.kind != kind and getattr(self, n) is not None]
            if wrong:
                raise ValueError(f"{wrong[0]}: only rules of kind: {kind} take this field")
        if self.kind == "health":
            extra = [n for n in ("query", "topics", "actors") if getattr(self, n)]
            if extra:
                raise ValueError(f"{extra[0]}: a health rule routes feed health signals and "
                                 "takes no query or filter")
        elif self.query is None:
            raise ValueError("query: Field required")
        if self.immediate and self.digest is None:
            raise ValueError("immediate: only with a digest (without one alerts go at once)")
        return self

    @field_validator("realert", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta | None:
        return None if v is None or v in ("never", "none", 0) else parse_duration(v)

    @field_validator("topics", "actors", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r} (e.g. UTC, Europe/Kyiv)") from exc
        return v

    @field_validator("digest")
    @classmethod
    def _digest_schedule(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = " ".join(v.split()).lower()
        if not _DIGEST.match(v):
            raise ValueError(f"digest {v!r}: use 30m, 2h, hourly, daily or daily HH:MM")
        if v[-1] in "mh" and v[:-1].isdigit():
            minutes = int(v[:-1]) * (60 if v.endswith("h") else 1)
            if minutes == 0 or 1440 % minutes:
                raise ValueError(f"digest {v!r}: the period must divide a day")
        return v

    @field_validator("channels")
    @classmethod
    def _at_least_one(cls, v: tuple[ChannelConfig, ...]) -> tuple[ChannelConfig, ...]:
        if not v:
            raise ValueError("a rule needs at least one channel")
        return v


HEALTH_SIGNALS = ("silent", "blocked", "challenge", "html", "same_link", "gone")
SPIKE_FIELDS = (
    "window k min_publishers min_count count half_life warmup backfill top".split()
)
HEALTH_FIELDS = ("signals", "resolved")


def _optional_duration(value: Any) -> timedelta | None:
    return None if value is None else parse_duration(value)


class _LineLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type hints
    """A YAML loader that records the line of every mapping (as ``__line__``)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_list(
    path: Path, model: type[T], what: str, errors: list[str] | None = None
) -> list[T]:
    """The file's entries validated as ``model``. The first invalid entry raises ConfigError
    naming file, line, entry (and its ``name`` for rules) and field; with ``errors`` given,
    each invalid entry is appended there instead and the others are returned."""
    try:
        data = yaml.load(path.read_text("utf-8"), Loader=_LineLoader)  # noqa: S506 (safe loader)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a YAML list of {what}, got {type(data).__name__}")
    items: list[T] = []
    for i, entry in enumerate(data, 1):
        line = entry.pop("__line__", "?") if isinstance(entry, dict) else "?"
        try:
            items.append(model.model_validate(entry))
        except ValidationError as exc:
            message = f"{path}:{line}: {what} #{i}: {_first_error(exc)}{_named(entry, what)}"
            if errors is None:
                raise ConfigError(message) from exc
            errors.append(message)
    return items


def _named(entry: Any, what: str) -> str:
    name = entry.get("name") if what == "rules" and isinstance(entry, dict) else None
    return f" (rule {name!r})" if isinstance(name, str) else ""


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "Extra inputs are not permitted (unknown field)"
    return f"{field}: {message}" if field else message


def load_feeds(path: Path) -> list[FeedConfig]:
    feeds = _load_list(path, FeedConfig, "feeds")
    _no_duplicates([str(f.url) for f in feeds], path, "feed url")
    return feeds


def load_rules(path: Path) -> list[RuleConfig]:
    rules = _load_list(path, RuleConfig, "rules")
    _no_duplicates([r.name for r in rules], path, "rule name")
    return rules


def load_rules_leniently(path: Path) -> tuple[list[RuleConfig], list[str]]:
    """The valid rules of the file and one message per rejected entry (invalid, or a name
    used before): for the services, where one bad rule must not stop the others. An
    unreadable file, or one that is not a YAML list, still raises ConfigError."""
    errors: list[str] = []
    rules, seen = [], set()
    for rule in _load_list(path, RuleConfig, "rules", errors):
        if rule.name in seen:
            errors.append(f"{path}: duplicate rule name {rule.name!r} (the later one ignored)")
            continue
        seen.add(rule.name)
        rules.append(rule)
    return rules, errors


def _no_duplicates(keys: Sequence[str], path: Path, what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ConfigError(f"{path}: duplicate {what} {key!r}")
        seen.add(key)
