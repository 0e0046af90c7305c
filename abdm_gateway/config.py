"""What the gateway is told at start: its CM id, the registered clients and the timings."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Client:
    """A registered HIP/HIU client: its credentials, the HIP ids it may name, its bridge URL."""

    client_id: str
    client_secret: str
    hip_ids: tuple[str, ...] = ()
    bridge_url: str = ""


@dataclass
class Config:
    cm_id: str = "sbx"
    issuer: str = "abdm-offline-gateway"
    data_dir: Path = Path("var/abdm_gateway")
    token_ttl_s: int = 1200
    retry_base_ms: int = 500
    max_attempts: int = 8
    key_grace_s: int = 24 * 3600
    # Where the HIP reaches this gateway (the consent manager's dataPushUrl is under it).
    public_url: str = "http://127.0.0.1:8090"
    clients: dict[str, Client] = field(default_factory=dict)

    def client_for_hip(self, hip_id: str) -> Client | None:
        return next((c for c in self.clients.values() if hip_id in c.hip_ids), None)


# The demo client matches the project's defaults (esanjeevani/settings.py ABDM_*), so `make run`
# needs no configuration.
DEMO_CLIENT = Client(
    client_id="ESANJEEVANI_OFFLINE",
    client_secret="offline-gateway-secret",  # noqa: S106 - a published demo credential
    hip_ids=("IN0910000001",),
    bridge_url="http://127.0.0.1:8000",
)


def parse_clients(raw: list[dict[str, Any]]) -> dict[str, Client]:
    clients = {}
    for item in raw:
        client = Client(
            client_id=str(item["clientId"]),
            client_secret=str(item["clientSecret"]),
            hip_ids=tuple(str(h) for h in item.get("hipIds", ())),
            bridge_url=str(item.get("bridgeUrl", "")),
        )
        clients[client.client_id] = client
    return clients


def load(
    *,
    config_path: str | None,
    data_dir: str,
    overrides: dict[str, int],
) -> Config:
    """The config file (or ABDM_GATEWAY_CONFIG) names clients and may set any timing."""
    config = Config(data_dir=Path(data_dir))
    path = config_path or os.environ.get("ABDM_GATEWAY_CONFIG")
    raw: dict[str, Any] = {}
    if path:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    config.cm_id = str(raw.get("cmId", config.cm_id))
    config.issuer = str(raw.get("issuer", config.issuer))
    for key in ("token_ttl_s", "retry_base_ms", "max_attempts", "key_grace_s"):
        if key in raw:
            setattr(config, key, int(raw[key]))
    for key, value in overrides.items():
        setattr(config, key, value)
    config.clients = (
        parse_clients(raw["clients"]) if "clients" in raw else {DEMO_CLIENT.client_id: DEMO_CLIENT}
    )
    return config
