"""docker-compose.yaml: the official Airflow 3 layout plus the emulator (no Docker engine runs here, so the
file itself is checked: structure, health checks, environment, and that the connection targets the emulator)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


def test_official_layout_and_emulator_service():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "airflow-init", "emulator", *AIRFLOW_SERVICES}
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command
    for name, service in services.items():
        if name != "airflow-init":
            assert "healthcheck" in service, f"{name} has no health check"
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")


def test_image_is_built_from_airflow_332_with_the_provider():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.2", dockerfile, re.M)
    assert "constraints.txt" in dockerfile and "[emulator]" in dockerfile
    services = compose()["services"]
    assert services["airflow-scheduler"]["build"] == "."
    assert services["emulator"]["build"] == "."


def test_connection_points_at_the_emulator_service():
    services = compose()["services"]
    env = services["airflow-scheduler"]["environment"]
    conn = json.loads(env["AIRFLOW_CONN_GEMINI_TUNING_DEFAULT"])
    assert conn["conn_type"] == "gemini_tuning"
    emulator_cmd = services["emulator"]["command"]
    api_port = re.search(r"--port (\d+)", emulator_cmd).group(1)
    storage_port = re.search(r"--storage-port (\d+)", emulator_cmd).group(1)
    assert conn["extra"]["api_endpoint"] == f"http://emulator:{api_port}"
    assert conn["extra"]["storage_endpoint"] == f"http://emulator:{storage_port}"
    assert re.search(r"--bucket (\S+)", emulator_cmd).group(1) == env["AIRFLOW_TUNING_BUCKET"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    for service in AIRFLOW_SERVICES:
        assert services[service]["depends_on"]["emulator"]["condition"] == "service_healthy"


def test_published_ports_bind_loopback_only():
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_emulator_command_is_the_real_cli():
    """The compose command line parses with the emulator's own argument parser."""
    from airflow_tuning.emulator.__main__ import parse_args

    argv = compose()["services"]["emulator"]["command"].split()
    assert argv[:2] == ["airflow-tuning", "emulator"]
    args = parse_args(argv[2:])
    assert (args.port, args.storage_port, args.bucket) == (8765, 9023, ["tuning-data"])
