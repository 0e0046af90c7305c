"""docker-compose.yml, checked by the real Compose parser (no Docker engine is needed for this)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

# What .env provides in production; none of it is secret.
COMPOSE_ENV = {
    "ALLOWED_HOSTS": "teleconsult.example.in",
    "CSRF_TRUSTED_ORIGINS": "https://teleconsult.example.in",
    "SMS_GATEWAY_URL": "https://sms-gateway.example.in/api/send",
    "TURN_REALM": "turn.teleconsult.example.in",
    "TURN_EXTERNAL_IP": "203.0.113.10",
}

# Variable names whose values are secrets: only their NAME_FILE form may appear in the file.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|API_KEY|TOKEN|DATABASE_URL")


def compose_config(**overrides: str) -> subprocess.CompletedProcess[str]:
    # Only PATH and HOME from the outside, so the developer's shell cannot fill in a variable.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), **COMPOSE_ENV, **overrides}
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), "config"],
        cwd=ROOT,
        env={name: value for name, value in env.items() if value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = compose_config()
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = yaml.safe_load(result.stdout)
    return parsed


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = config["services"]
    return parsed


def raw_environments() -> dict[str, dict[str, Any]]:
    """Each service's environment as written in the file, before interpolation."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    environments: dict[str, dict[str, Any]] = {}
    for name, service in raw["services"].items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        environments[name] = environment
    return environments


def test_it_is_accepted_by_docker_compose() -> None:
    result = compose_config()

    assert result.returncode == 0, result.stderr


def test_it_refuses_to_render_without_the_deployment_settings() -> None:
    result = compose_config(ALLOWED_HOSTS="")

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_it_defines_the_production_services(services: dict[str, Any]) -> None:
    assert {"web", "worker", "beat", "db", "redis", "coturn"} <= set(services)


def test_it_serves_daphne_on_port_8000_behind_a_proxy(services: dict[str, Any]) -> None:
    web = services["web"]

    assert web["command"][0] == "daphne"
    # Daphne's --proxy-headers trusts the left-most X-Forwarded-For entry, which the client
    # writes; the app trusts PROXY_COUNT hops itself (core/http.py).
    assert not any(arg.startswith("--proxy-headers") for arg in web["command"])
    assert web["command"][-1] == "esanjeevani.asgi:application"
    assert "8000" in [str(port) for port in web["expose"]]


def test_it_runs_celery_worker_and_beat(services: dict[str, Any]) -> None:
    assert services["worker"]["command"][:4] == ["celery", "-A", "esanjeevani", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "esanjeevani", "beat"]


@pytest.mark.parametrize("service", ["web", "worker", "beat"])
def test_it_restarts_the_app_processes_when_they_exit(
    services: dict[str, Any], service: str
) -> None:
    assert services[service]["restart"] == "unless-stopped"


def test_it_healthchecks_the_worker_through_the_broker(services: dict[str, Any]) -> None:
    worker = services["worker"]
    check = " ".join(worker["healthcheck"]["test"])

    assert worker["command"][-2:] == ["-n", "worker@%h"]
    assert "celery -A esanjeevani inspect ping" in check
    assert "worker@$$HOSTNAME" in check  # this container's own worker, not any


def test_it_healthchecks_db_and_redis(services: dict[str, Any]) -> None:
    assert "pg_isready" in services["db"]["healthcheck"]["test"]
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])


def test_it_keeps_postgres_data_in_a_named_volume(config: dict[str, Any]) -> None:
    db_volumes = config["services"]["db"]["volumes"]

    assert any(volume.startswith("postgres_data:") for volume in db_volumes)
    assert "postgres_data" in config["volumes"]


@pytest.mark.parametrize("service", ["web", "worker"])
def test_it_starts_after_db_and_redis_are_healthy(services: dict[str, Any], service: str) -> None:
    depends_on = services[service]["depends_on"]

    assert depends_on["db"] == {"condition": "service_healthy"}
    assert depends_on["redis"] == {"condition": "service_healthy"}


def test_it_migrates_in_a_one_shot_service(services: dict[str, Any]) -> None:
    migrate = services["migrate"]

    assert migrate["command"][:3] == ["python", "manage.py", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"] == {"condition": "service_healthy"}


@pytest.mark.parametrize("service", ["web", "worker", "beat"])
def test_it_starts_after_migrations_complete(services: dict[str, Any], service: str) -> None:
    assert services[service]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }


def test_it_writes_no_secret_value_in_the_file() -> None:
    literal_secrets = {
        f"{service}.{name}"
        for service, environment in raw_environments().items()
        for name in environment
        if SECRET_NAME.search(name) and not name.endswith("_FILE")
    }

    assert literal_secrets == set()


def test_it_reads_the_secret_key_from_a_compose_secret(config: dict[str, Any]) -> None:
    web = config["services"]["web"]

    assert web["environment"]["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
    assert {"source": "secret_key"} in web["secrets"]
    assert config["secrets"]["secret_key"]["file"].startswith(str(ROOT / "deploy" / "secrets"))


def test_it_sends_sms_through_the_http_gateway(services: dict[str, Any]) -> None:
    environment = services["worker"]["environment"]

    assert environment["SMS_BACKEND"] == "notifications.sms.HttpGatewaySmsBackend"
    assert environment["SMS_GATEWAY_URL"] == COMPOSE_ENV["SMS_GATEWAY_URL"]
    assert environment["SMS_GATEWAY_API_KEY_FILE"] == "/run/secrets/sms_gateway_api_key"


def test_it_runs_the_app_for_https_behind_one_proxy(services: dict[str, Any]) -> None:
    environment = services["web"]["environment"]

    assert environment["HTTPS"] == "1"
    assert environment["PROXY_COUNT"] == "1"
    assert environment["ALLOWED_HOSTS"] == COMPOSE_ENV["ALLOWED_HOSTS"]
    assert environment["CSRF_TRUSTED_ORIGINS"] == COMPOSE_ENV["CSRF_TRUSTED_ORIGINS"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")


def test_it_shares_the_turn_secret_between_web_and_coturn(services: dict[str, Any]) -> None:
    for service in ("web", "coturn"):
        assert services[service]["environment"]["TURN_SECRET_FILE"] == "/run/secrets/turn_secret"
        assert {"source": "turn_secret"} in services[service]["secrets"]


def test_it_keeps_the_turn_secret_out_of_the_coturn_config() -> None:
    turnserver_conf = (ROOT / "deploy" / "coturn" / "turnserver.conf").read_text()
    settings = [line.strip() for line in turnserver_conf.splitlines()]

    assert "use-auth-secret" in settings
    assert not any(line.startswith("static-auth-secret") for line in settings)


def test_it_publishes_turn_and_turns_ports(services: dict[str, Any]) -> None:
    published = {
        (str(port["published"]), str(port["target"]), port["protocol"])
        for port in services["coturn"]["ports"]
    }

    assert {
        ("3478", "3478", "udp"),
        ("3478", "3478", "tcp"),
        ("5349", "5349", "tcp"),
        ("443", "5349", "tcp"),
    } <= published
