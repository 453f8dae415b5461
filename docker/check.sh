#!/usr/bin/env bash
# Checks what can be checked of docker/ without a Docker engine: the JSON and YAML parse, Prometheus accepts its
# configuration, and every PromQL expression of the Grafana dashboard parses (as a recording rule, with Grafana's
# $__rate_interval replaced by 5m). Needs python3 (with PyYAML) and promtool (Debian package prometheus).
# The metric names the dashboard may use are checked by a test: DashboardTests in tests/CommsCredits.Tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

python3 -m json.tool grafana/dashboards/commscredits.json >/dev/null
python3 - <<'PY'
import yaml
for path in ["compose.yaml", "prometheus/prometheus.yml", "grafana/provisioning/datasources/prometheus.yaml",
             "grafana/provisioning/dashboards/commscredits.yaml"]:
    with open(path) as f:
        yaml.safe_load(f)
    print(f"{path}: YAML parses")
PY
promtool check config prometheus/prometheus.yml

rules=$(mktemp --suffix=.yml)
trap 'rm -f "$rules"' EXIT
python3 - "$rules" <<'PY'
import json, sys
with open("grafana/dashboards/commscredits.json") as f:
    dashboard = json.load(f)
rules = [{"record": f"dashboard:panel{panel['id']}:{target['refId']}", "expr": target["expr"].replace("$__rate_interval", "5m")}
         for panel in dashboard["panels"] for target in panel["targets"]]
with open(sys.argv[1], "w") as f:
    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
print(f"{len(rules)} dashboard expressions")
PY
promtool check rules "$rules"
