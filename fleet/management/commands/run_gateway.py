"""``manage.py run_gateway``: the JT/T 808 TCP gateway as its own process.

Until the ingest pipeline provides its sink, records go to an in-process store that keeps the
newest 100,000 (set GATEWAY_SINK to the dotted path of a callable returning a RecordSink).
SIGTERM / SIGINT shut down gracefully.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.module_loading import import_string

from fleet.gateway.config import GatewayConfig
from fleet.gateway.server import GatewayServer
from fleet.gateway.sink import InProcessSink, RecordSink

log = logging.getLogger("fleet.gateway")


def make_sink() -> RecordSink:
    path = getattr(settings, "GATEWAY_SINK", "")
    if path:
        return import_string(path)()
    log.warning("GATEWAY_SINK not set: records are kept in memory only (no pipeline)")
    return InProcessSink(capacity=100_000, overflow="drop_oldest")


class Command(BaseCommand):
    help = "Run the JT/T 808 terminal gateway (TCP) with its /metrics endpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=None, help="listen address (GATEWAY_HOST)")
        parser.add_argument("--port", type=int, default=None, help="TCP port (GATEWAY_PORT)")
        parser.add_argument("--metrics-port", type=int, default=None,
                            help="HTTP /metrics port (GATEWAY_METRICS_PORT); 0 disables it")
        parser.add_argument("--reuse-port", action="store_true",
                            help="share the port with other gateway processes (SO_REUSEPORT)")

    def handle(self, *args: Any, **options: Any) -> None:
        overrides: dict[str, Any] = {}
        if options["host"]:
            overrides["host"] = options["host"]
        if options["port"] is not None:
            overrides["port"] = options["port"]
        if options["metrics_port"] is not None:
            overrides["metrics_port"] = options["metrics_port"] or None
        if options["reuse_port"]:
            overrides["reuse_port"] = True
        config = GatewayConfig.from_settings(**overrides)
        # Thousands of long-lived connection objects: full collections over them stall every
        # connection's acks, so collect rarely and keep start-up objects out of the scan.
        gc.collect()
        gc.freeze()
        gc.set_threshold(100_000, 50, 1000)
        asyncio.run(self._run(config))

    async def _run(self, config: GatewayConfig) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        server = GatewayServer(config, make_sink())
        await server.start()
        self.stdout.write(f"JT/T 808 gateway on {config.host}:{server.port}, "
                          f"metrics on {config.metrics_host}:{server.metrics_port}")
        await server.serve_until(stop)
