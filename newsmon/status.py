"""``newsmon status``: one summary of every service, the broker and the store.

Per service (``/healthz`` and ``/metrics`` on :data:`newsmon.observe.DEFAULT_PORTS`): reachable,
ready (and why not), consumer lag, backing off, records handled, transient errors, seconds since
the last committed batch, stale feeds and feeds per health signal (ingest). Then Kafka lag
per consumer group and topic sizes (dead letters included), Elasticsearch article and alert
counts, and the feed-health alerts still open (which feed, which signal, since when). Every
part that cannot be reached is reported as such, never raised. ``healthy`` is true when every
service answered ready and the broker and store answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from newsmon.bus import ALL_TOPICS, DEADLETTER_TOPIC, HEALTH_TOPIC, RAW_TOPIC, TAGGED_TOPIC
from newsmon.config import Settings
from newsmon.errors import ConfigError, NewsmonError
from newsmon.observe import DEFAULT_PORTS

SERVICES = ("ingest", "process", "index", "alert")
GROUPS = {
    "newsmon-process": (RAW_TOPIC,),
    "newsmon-index": (TAGGED_TOPIC,),
    "newsmon-alert": (TAGGED_TOPIC, HEALTH_TOPIC),
}
TIMEOUT = 3.0

Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse_metrics(text: str) -> Samples:
    """Prometheus text → sample name → [(labels, value)]."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def _one(samples: Samples, name: str, stage: str | None = None, **labels: str) -> float | None:
    values = [
        v
        for lab, v in samples.get(name, [])
        if (stage is None or lab.get("stage") == stage)
        and all(lab.get(k) == x for k, x in labels.items())
    ]
    return sum(values) if values else None


def service_summary(name: str, samples: Samples, now: float) -> dict[str, Any]:
    """The figures of one service from its metrics (pure: ``now`` is passed in)."""
    last = _one(samples, "newsmon_stage_last_batch_timestamp_seconds", name)
    stale = [
        v for key, rows in samples.items() if "stale" in key and key.startswith("newsmon_")
        for _, v in rows
    ]
    return {
        "lag": _one(samples, "newsmon_stage_consumer_lag", name),
        "backing_off": bool(_one(samples, "newsmon_stage_backing_off", name)),
        "records_ok": _one(samples, "newsmon_stage_records_total", name, status="ok"),
        "dead_letters": _one(samples, "newsmon_stage_records_total", name, status="dead_letter"),
        "transient_errors": _one(samples, "newsmon_stage_transient_errors_total", name),
        "seconds_since_batch": round(now - last, 1) if last else None,
        "stale_feeds": sum(stale) if stale else None,
        "feed_health": {
            lab["signal"]: int(v)
            for lab, v in samples.get("newsmon_ingest_feed_health", [])
            if v and "signal" in lab
        } or None,
    }


def probe_service(name: str, base: str, get: Callable[[str], httpx.Response]) -> dict[str, Any]:
    out: dict[str, Any] = {"url": base, "reachable": False, "ready": False}
    try:
        health = get(f"{base}/healthz")
        metrics = get(f"{base}/metrics")
    except httpx.HTTPError as exc:
        out["problem"] = f"not reachable: {type(exc).__name__}"
        return out
    out["reachable"], out["ready"] = True, health.status_code == 200
    if health.status_code != 200:
        out["problem"] = health.text.strip()[:500]
    out.update(service_summary(name, parse_metrics(metrics.text), time.time()))
    return out


def _kafka(settings: Settings) -> dict[str, Any]:
    if not settings.bus.startswith("kafka://"):
        return {"url": settings.bus, "skipped": "not a Kafka bus"}
    from newsmon.adapters.kafka_admin import group_lags, topic_sizes
    from newsmon.security import kafka_security

    options = kafka_security(settings).client_options()  # SASL/TLS like the services
    try:
        return {
            "url": settings.bus,
            "groups": group_lags(settings.bus, GROUPS, settings.namespace, options),
            "topics": topic_sizes(settings.bus, ALL_TOPICS, settings.namespace, options),
        }
    except NewsmonError as exc:
        return {"url": settings.bus, "error": str(exc)}


def _store(settings: Settings) -> dict[str, Any]:
    from newsmon.wiring import make_store

    try:
        store = make_store(settings)
        try:
            alerts = store.alerts()
            by_status: dict[str, int] = {}
            for entry in alerts:
                status = str(entry.get("status", "?"))
                by_status[status] = by_status.get(status, 0) + 1
            return {"url": settings.store, "articles": store.count(), "alerts": by_status,
                    "feed_health": open_health(alerts)}
        finally:
            store.close()
    except NewsmonError as exc:
        return {"url": settings.store, "error": str(exc)}


def open_health(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The feed-health alerts not resolved yet (operator alerts: ``kind: health``), one per
    feed and signal, oldest first."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for e in entries:
        if e.get("kind") != "health" or e.get("state") != "problem" or e.get("resolved"):
            continue
        if e.get("copy"):
            continue  # a digest's copy of an alert counted already
        key = (str(e.get("feed")), str(e.get("signal")))
        found.setdefault(key, {k: e.get(k) for k in ("feed_name", "feed", "signal", "since",
                                                         "detail")})
    return sorted(found.values(), key=lambda h: str(h.get("since")))


def parse_ports(text: str | None) -> dict[str, int]:
    """``"process=19462,index=19463"`` → ports over :data:`DEFAULT_PORTS`."""
    ports = {name: DEFAULT_PORTS[name] for name in SERVICES}
    for pair in filter(None, (text or "").split(",")):
        name, _, port = pair.partition("=")
        if name.strip() not in ports or not port.strip().isdigit():
            raise ConfigError(f"--ports: expected SERVICE=PORT[,...], got {pair!r}")
        ports[name.strip()] = int(port)
    return ports


def collect(
    settings: Settings, host: str = "127.0.0.1", ports: dict[str, int] | None = None
) -> dict[str, Any]:
    ports = ports or parse_ports(None)
    with httpx.Client(timeout=TIMEOUT) as client:
        services = {
            name: probe_service(name, f"http://{host}:{ports[name]}", client.get)
            for name in SERVICES
        }
    kafka, store = _kafka(settings), _store(settings)
    healthy = (
        all(s["ready"] for s in services.values()) and "error" not in kafka and "error" not in store
    )
    return {"healthy": healthy, "services": services, "kafka": kafka, "store": store}


def render(report: dict[str, Any]) -> str:
    lines = [f"newsmon: {'healthy' if report['healthy'] else 'NOT healthy'}"]
    for name, s in report["services"].items():
        if not s["reachable"]:
            lines.append(f"  {name:<8} down     {s.get('problem', '')}")
            continue
        figures = " ".join(
            f"{k}={_fmt(s.get(k))}"
            for k in ("lag", "records_ok", "dead_letters", "transient_errors",
                      "seconds_since_batch", "stale_feeds", "feed_health")
            if s.get(k) is not None
        )
        state = "ready" if s["ready"] else "NOT READY"
        flag = " backing-off" if s["backing_off"] else ""
        lines.append(f"  {name:<8} {state:<9}{flag} {figures}")
        if not s["ready"]:
            lines.append(f"           {s.get('problem', '')}")
    kafka = report["kafka"]
    if "groups" in kafka:
        lags = " ".join(f"{g}={v['lag']}" for g, v in kafka["groups"].items())
        lines.append(f"  kafka    lag {lags}")
        lines.append(f"           dead letters={kafka['topics'].get(DEADLETTER_TOPIC, 0)}")
    else:
        lines.append(f"  kafka    {kafka.get('error') or kafka.get('skipped')}")
    store = report["store"]
    if "error" in store:
        lines.append(f"  store    {store['error']}")
    else:
        alerts = " ".join(f"{k}={v}" for k, v in sorted(store["alerts"].items())) or "none"
        lines.append(f"  store    articles={store['articles']} alerts: {alerts}")
        for h in store.get("feed_health") or []:
            lines.append(f"  feed     {h['feed_name']}: {h['signal']} since {h['since']}: "
                         f"{h['detail']}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}:{_fmt(v)}" for k, v in sorted(value.items()))
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
