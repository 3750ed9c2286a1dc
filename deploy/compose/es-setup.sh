#!/usr/bin/env bash
# One-shot setup of the compose stack's Elasticsearch (run by the es-setup service):
# the kibana_system password, and the role + user the newsmon services log in as.
# Secrets arrive as environment variables; none is echoed.
set -euo pipefail
es=http://elasticsearch:9200
call() { # METHOD PATH JSON
  curl -fsS -u "elastic:$ELASTIC_PASSWORD" -X "$1" "$es$2" -H 'Content-Type: application/json' \
    -d "$3" >/dev/null
}
call POST /_security/user/kibana_system/_password "{\"password\":\"$KIBANA_PASSWORD\"}"
call PUT /_security/role/newsmon '{
  "cluster": ["monitor", "manage_index_templates"],
  "indices": [{"names": ["news-*", "*-news-*", "*.news-*"], "privileges": ["all"]}]
}'
call PUT /_security/user/newsmon "{\"password\":\"$NEWSMON_ES_PASSWORD\",\"roles\":[\"newsmon\"]}"
echo "es-setup: kibana_system password set; role and user newsmon ready"
