"""Alert metrics (``/metrics`` of ``newsmon alert``), labelled per rule.

``newsmon_alert_matches_total{rule}``: articles a rule selected;
``newsmon_alert_deliveries_total{rule,channel,status=sent|failed|retry}``: channel outcomes;
``newsmon_alert_suppressed_total{rule,reason=realert|replay|silenced|pending}``: matches that
sent nothing (the story was already alerted in the realert window; the same article again;
the rule is silenced; another worker holds the pending alert);
``newsmon_alert_sent_total``: alerts and digests delivered (all rules, for ``newsmon run``);
``newsmon_alert_match_seconds``: time to match one article against every rule.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MATCHES = Counter("newsmon_alert_matches_total", "Articles selected by a rule", ["rule"])
DELIVERIES = Counter(
    "newsmon_alert_deliveries_total", "Alert deliveries per channel", ["rule", "channel", "status"]
)
SUPPRESSED = Counter(
    "newsmon_alert_suppressed_total", "Matches that sent nothing, by reason", ["rule", "reason"]
)
SENT = Counter(
    "newsmon_alert_sent_total", "Alerts and digests delivered to at least one channel (all rules)"
)
MATCH_SECONDS = Histogram(
    "newsmon_alert_match_seconds",
    "Time to match one article against every rule",
    buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
)
SPIKES = Counter("newsmon_alert_spikes_total", "Spikes alerted (one per spike)", ["rule"])
SPIKE_GATED = Counter(
    "newsmon_alert_spike_gated_total",
    "Window evaluations above the threshold held back by the publisher-diversity gate",
    ["rule"],
)
SPIKE_COUNT = Gauge(
    "newsmon_alert_spike_window_count", "Count of the last evaluated window of a spike rule",
    ["rule"],
)
SPIKE_THRESHOLD = Gauge(
    "newsmon_alert_spike_threshold", "Threshold of the last evaluated window of a spike rule",
    ["rule"],
)
HEALTH_EVENTS = Counter(
    "newsmon_alert_health_events_total", "Feed health changes received", ["signal", "state"]
)
RULES_REJECTED = Gauge(
    "newsmon_alert_rules_rejected", "Rules of the rules file that were rejected at load"
)
