"""Settings (environment, prefix ``NEWSMON_``) and the data files they point at (feeds, rules).

One typed, frozen :class:`Settings` object is built by the CLI and passed down; nothing else
reads the environment. Feed and rule files are YAML lists validated by pydantic models; errors
name the file, the entry and its line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsmon.errors import ConfigError

T = TypeVar("T", bound=BaseModel)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "newsmon"


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
    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="/metrics + /healthz port (default per stage; 0: off)"
    )
    metrics_host: str = Field("127.0.0.1", description="bind address of /metrics + /healthz")
    log_format: Literal["auto", "text", "json"] = "auto"
    log_level: str = "INFO"

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


class ChannelConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    type: Literal["log", "webhook"]
    url: HttpUrl | None = None


class RuleConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    query: str = Field(min_length=1)
    channels: tuple[ChannelConfig, ...] = (ChannelConfig(type="log"),)

    @field_validator("channels")
    @classmethod
    def _webhooks_need_url(cls, v: tuple[ChannelConfig, ...]) -> tuple[ChannelConfig, ...]:
        for ch in v:
            if ch.type == "webhook" and ch.url is None:
                raise ValueError("a webhook channel needs a url")
        return v


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that records the line of every mapping (as ``__line__``)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_list(path: Path, model: type[T], what: str) -> list[T]:
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
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "entry"
            raise ConfigError(f"{path}:{line}: {what} #{i}: {field}: {err['msg']}") from exc
    return items


def load_feeds(path: Path) -> list[FeedConfig]:
    feeds = _load_list(path, FeedConfig, "feeds")
    _no_duplicates([str(f.url) for f in feeds], path, "feed url")
    return feeds


def load_rules(path: Path) -> list[RuleConfig]:
    rules = _load_list(path, RuleConfig, "rules")
    _no_duplicates([r.name for r in rules], path, "rule name")
    return rules


def _no_duplicates(keys: Sequence[str], path: Path, what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ConfigError(f"{path}: duplicate {what} {key!r}")
        seen.add(key)
