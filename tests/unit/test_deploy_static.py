"""deploy/compose.yaml and deploy/systemd/, checked without Docker or systemd running them.

Compose: the file parses, validates against the Compose Specification JSON schema (vendored in
tests/fixtures/deploy/compose-spec.json, from the docker-compose 1.29.2 wheel on PyPI, where it
ships as compose/config/compose_spec.json), every newsmon service runs a real ``newsmon``
sub-command, sets only real settings, has a ``/healthz`` health check on its stage's metrics
port, and every file it mounts exists. systemd: every unit runs a real sub-command, reads the
environment file, restarts on failure and is hardened; the example environment file sets only
real settings; and ``systemd-analyze verify`` accepts the units (it is on this machine).
"""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from newsmon.cli import build_parser
from newsmon.config import Settings
from newsmon.observe import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SYSTEMD = DEPLOY / "systemd"
SCHEMA = ROOT / "tests" / "fixtures" / "deploy" / "compose-spec.json"
STAGES = ("ingest", "process", "index", "alert")


def settings_env_names() -> set[str]:
    """Every environment variable Settings reads (nested: NEWSMON_<FIELD>__<SUB>)."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"NEWSMON_{name.upper()}")
        sub = getattr(field.annotation, "model_fields", None)
        for inner in sub or ():
            names.add(f"NEWSMON_{name.upper()}__{inner.upper()}")
    return names


def assert_real_setting(key: str, where: str) -> None:
    if key.startswith("NEWSMON_"):
        assert key in settings_env_names(), f"{where}: {key} is not a Settings field"


def assert_real_command(argv: list[str], where: str) -> None:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on an unknown command or option
        raise AssertionError(f"{where}: `newsmon {' '.join(argv)}` is not a command") from exc
    assert args.command == argv[0]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


# --- compose ------------------------------------------------------------------------------


def test_compose_matches_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    doc = dict(compose)
    doc.pop("name")  # top-level `name` joined the spec after this (2021) schema
    jsonschema.Draft7Validator(schema).validate(doc)


def test_compose_has_the_whole_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "elasticsearch", "kibana", *STAGES} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["elasticsearch"]["image"].endswith("/elasticsearch:9.2.4")
    assert services["kibana"]["image"].endswith("/kibana:9.2.4")
    env = services["elasticsearch"]["environment"]
    assert env["xpack.security.enabled"] == "true" and env["discovery.type"] == "single-node"
    assert "SASL_PLAINTEXT://" in services["kafka"]["environment"]["KAFKA_LISTENERS"]
    for name in ("kafka", "elasticsearch", "kibana"):
        assert "healthcheck" in services[name], name


def test_compose_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).resolve().exists(), f"{name}: {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
    assert {"kafka-data", "es-data"} <= declared


@pytest.mark.parametrize("stage", STAGES)
def test_compose_newsmon_service(compose: dict[str, Any], stage: str) -> None:
    service = compose["services"][stage]
    assert service["image"] == "newsmon:local"
    assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert_real_command(service["command"], f"compose {stage}")
    assert service["command"][0] == stage
    env = service["environment"]
    for key in env:
        assert_real_setting(key, f"compose {stage}")
    assert env["NEWSMON_METRICS_HOST"] == "0.0.0.0"
    assert env["NEWSMON_BUS"].startswith("kafka://kafka:")
    assert env["NEWSMON_STORE"].startswith("http://elasticsearch:")
    test = " ".join(service["healthcheck"]["test"])
    assert f"127.0.0.1:{DEFAULT_PORTS[stage]}/healthz" in test
    assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert service["stop_grace_period"] == "45s"
    for key in ("NEWSMON_FEEDS", "NEWSMON_RULES"):  # mounted where the env says
        if key in env:
            mounts = {v.split(":")[1] for v in service["volumes"]}
            assert env[key] in mounts, f"{stage}: {env[key]} is not mounted"


def test_compose_secrets_come_from_interpolation_not_the_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if key.endswith(("PASSWORD", "API_KEY")):
                assert str(value).startswith("${"), f"{name}: {key} is written in the file"
    lines = COMPOSE.read_text("utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    example = (DEPLOY / "compose" / ".env.example").read_text("utf-8")
    for var in set(re.findall(r"\$\{([A-Z_]+):\?", text)):
        assert f"\n{var}=" in f"\n{example}", f"{var} missing from deploy/compose/.env.example"


def test_dockerfile_installs_with_constraints() -> None:
    text = (DEPLOY / "Dockerfile").read_text("utf-8")
    assert "-c constraints.txt" in text
    assert re.search(r"^USER newsmon$", text, re.M)
    for port in (DEFAULT_PORTS[s] for s in STAGES):
        assert str(port) in text
    for line in re.findall(r"^COPY (\S+) ", text, re.M):
        assert (ROOT / line).exists(), f"Dockerfile copies missing {line}"


# --- systemd ------------------------------------------------------------------------------


def unit(stage: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(SYSTEMD / f"newsmon-{stage}.service")
    return parser


@pytest.mark.parametrize("stage", STAGES)
def test_systemd_unit(stage: str) -> None:
    service = unit(stage)["Service"]
    exec_start = service["ExecStart"].split()
    assert exec_start[0] == "/opt/newsmon/venv/bin/newsmon"
    assert_real_command(exec_start[1:], f"newsmon-{stage}.service")
    assert exec_start[1] == stage
    assert service["EnvironmentFile"] == "/etc/newsmon/newsmon.env"
    assert service["User"] == "newsmon"
    assert service["Restart"] == "on-failure" and float(service["RestartSec"]) > 0
    assert service["RestartPreventExitStatus"] == "2"  # config errors: no restart storm
    assert float(service["TimeoutStopSec"]) >= Settings().shutdown_timeout
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert "/var/lib/newsmon" in service["ReadWritePaths"]
    key, _, value = service["Environment"].partition("=")
    assert_real_setting(key, f"newsmon-{stage}.service")
    assert value == "/var/lib/newsmon"


def test_systemd_env_example_sets_only_real_settings() -> None:
    lines = (SYSTEMD / "newsmon.env.example").read_text("utf-8").splitlines()
    keys = [
        line.lstrip("#").split("=", 1)[0]
        for line in lines
        if re.match(r"^#?NEWSMON_[A-Z0-9_]+=", line)
    ]
    assert len(keys) >= 10
    for key in keys:
        assert_real_setting(key, "newsmon.env.example")


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze not found (Debian package systemd)"
    newsmon = Path(sys.executable).with_name("newsmon")
    assert newsmon.exists(), newsmon
    for path in [*SYSTEMD.glob("*.service"), SYSTEMD / "newsmon.target"]:
        text = path.read_text("utf-8").replace("/opt/newsmon/venv/bin/newsmon", str(newsmon))
        (tmp_path / path.name).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    proc = subprocess.run([analyze, "verify", *units], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    # the check has teeth: an unknown directive is reported
    bad = tmp_path / "newsmon-index.service"
    bad.write_text(bad.read_text().replace("NoNewPrivileges=yes", "NoNewPrivilegez=yes"))
    proc = subprocess.run([analyze, "verify", str(bad)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert "NoNewPrivilegez" in proc.stderr


def test_services_prints_the_design_contract_export_line() -> None:
    # DESIGN.md: `deploy/local/services up` ends by printing
    # `export NEWSMON_BUS=... NEWSMON_STORE=...`; `env` prints the same line without starting.
    env = {"PATH": "/usr/bin:/bin", "NEWSMON_KAFKA_PORT": "19192", "NEWSMON_ES_PORT": "19300"}
    out = subprocess.run(
        [str(DEPLOY / "local" / "services"), "env"], capture_output=True, text=True, env=env,
        timeout=30, check=True,
    ).stdout
    assert out.splitlines()[-1] == (
        "export NEWSMON_BUS=kafka://127.0.0.1:19192 NEWSMON_STORE=http://127.0.0.1:19300"
    )


def test_the_analyst_page_is_deployed_beside_the_services(compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]
    assert_real_command(web["command"], "compose web")
    assert web["command"][0] == "web" and web["image"] == "newsmon:local"
    for key in web["environment"]:
        assert_real_setting(key, "compose web")
    assert web["ports"] == ["127.0.0.1:9460:9460"]  # published on the host's loopback only
    assert "127.0.0.1:9460/healthz" in " ".join(web["healthcheck"]["test"])
    assert any(v.startswith("ingest-state:") for v in web["volumes"])  # the feeds view
    service = unit("web")["Service"]
    exec_start = service["ExecStart"].split()
    assert_real_command(exec_start[1:], "newsmon-web.service")
    assert exec_start[1:] == ["web"] and service["User"] == "newsmon"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert "newsmon-web.service" in (SYSTEMD / "newsmon.target").read_text("utf-8")
