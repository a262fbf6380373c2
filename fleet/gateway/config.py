"""Gateway settings, read once from Django settings (every one has a default)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

# Django setting name → GatewayConfig field. Listed here so the settings module and the README
# can be checked against one table.
SETTINGS: dict[str, str] = {
    "GATEWAY_HOST": "host",
    "GATEWAY_PORT": "port",
    "GATEWAY_METRICS_HOST": "metrics_host",
    "GATEWAY_METRICS_PORT": "metrics_port",
    "GATEWAY_REUSE_PORT": "reuse_port",
    "GATEWAY_MAX_CONNECTIONS": "max_connections",
    "GATEWAY_IDLE_TIMEOUT_S": "idle_timeout_s",
    "GATEWAY_AUTH_TIMEOUT_S": "auth_timeout_s",
    "GATEWAY_MAX_AUTH_FAILURES": "max_auth_failures",
    "GATEWAY_MAX_FRAMES_PER_S": "max_frames_per_s",
    "GATEWAY_MAX_CONSECUTIVE_ERRORS": "max_consecutive_errors",
    "GATEWAY_REASSEMBLY_TIMEOUT_S": "reassembly_timeout_s",
    "GATEWAY_REASSEMBLY_MAX_BYTES": "reassembly_max_bytes",
    "GATEWAY_DOWNLINK_TIMEOUT_S": "downlink_timeout_s",
    "GATEWAY_MAX_PENDING_DOWNLINKS": "max_pending_downlinks",
    "GATEWAY_DIRECTORY_REFRESH_S": "directory_refresh_s",
    "GATEWAY_DIRECTORY_MISS_REFRESH_S": "directory_miss_refresh_s",
    "GATEWAY_SWEEP_INTERVAL_S": "sweep_interval_s",
    "GATEWAY_SINK_RETRY_MAX_S": "sink_retry_max_s",
    "GATEWAY_REDIS_PREFIX": "redis_prefix",
    "GATEWAY_STATS_INTERVAL_S": "stats_interval_s",
    "GATEWAY_DOWNLINK_RESULT_TTL_S": "downlink_result_ttl_s",
    "GATEWAY_SHUTDOWN_GRACE_S": "shutdown_grace_s",
}


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    host: str = "0.0.0.0"
    port: int = 6808
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = 6809  # None: no /metrics endpoint
    # Several gateway processes may share the port on one host (SO_REUSEPORT, Linux).
    reuse_port: bool = False
    max_connections: int = 50_000
    # Terminals heartbeat every 30-60 s by default; three missed heartbeats close the socket.
    idle_timeout_s: float = 180.0
    auth_timeout_s: float = 60.0  # a connection must authenticate within this
    max_auth_failures: int = 3
    # Per connection; above it the gateway stops reading that socket for the rest of the second.
    max_frames_per_s: float = 200.0
    # Malformed/refused frames in a row before the connection is closed.
    max_consecutive_errors: int = 20
    reassembly_timeout_s: float = 15.0
    reassembly_max_bytes: int = 256 * 1024
    downlink_timeout_s: float = 10.0
    max_pending_downlinks: int = 16
    directory_refresh_s: float = 60.0
    # An unknown SIM triggers a registry reload at most this often (new terminals work at once).
    directory_miss_refresh_s: float = 5.0
    sweep_interval_s: float = 1.0
    sink_retry_initial_s: float = 0.05
    sink_retry_max_s: float = 1.0
    redis_url: str | None = None  # None: no stats snapshot, no control channel
    redis_prefix: str = "gateway:"
    stats_interval_s: float = 5.0
    downlink_result_ttl_s: float = 600.0
    shutdown_grace_s: float = 5.0

    @classmethod
    def from_settings(cls, **overrides: Any) -> GatewayConfig:
        from django.conf import settings

        values: dict[str, Any] = {}
        for name, attr in SETTINGS.items():
            if hasattr(settings, name):
                values[attr] = getattr(settings, name)
        values["redis_url"] = getattr(settings, "REDIS_URL", None)
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes: Any) -> GatewayConfig:
        return replace(self, **changes)


def defaults() -> dict[str, Any]:
    """Setting name → default value (for the documentation)."""
    by_field = {f.name: f.default for f in fields(GatewayConfig)}
    return {name: by_field[attr] for name, attr in SETTINGS.items()}
