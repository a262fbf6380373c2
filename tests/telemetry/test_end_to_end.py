"""Terminal → gateway (real TCP) → Redis Streams → pipeline worker → PostGIS, every fix once."""

from __future__ import annotations

from django.db import connection

from fleet.telemetry.bus import AsyncStreamPublisher
from fleet.telemetry.worker import PipelineWorker
from tests.gateway.harness import TerminalClient, sample_location


def stored_times(vehicle_id: int) -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT fix_time FROM telemetry_position WHERE vehicle_id = %s "
                       "ORDER BY fix_time", [vehicle_id])
        return [row[0] for row in cursor.fetchall()]


def test_every_fix_sent_is_stored_exactly_once(registry, start_gateway, make_bus,
                                               make_leases, bus_prefix, settings):
    bus = make_bus(shards=2)
    sink = AsyncStreamPublisher(settings.REDIS_URL, shards=2, prefix=bus_prefix)
    gateway = start_gateway(sink=sink)
    terminal = TerminalClient(gateway.port, registry.phone)
    assert terminal.register("辽L12345").result == 0
    terminal.authenticate()

    frames = []
    for minute in range(20):
        header = terminal.send(0x0200, sample_location(minute=minute))
        terminal.expect_ack(header)  # acknowledged only once it is on the bus
        frames.append(header)
    # The terminal did not see some acks and sends five reports again (at-least-once).
    for minute in range(5):
        header = terminal.send(0x0200, sample_location(minute=minute))
        terminal.expect_ack(header)
    terminal.close()

    worker = PipelineWorker(bus, make_leases("e2e", shards=2))
    while worker.step():
        pass
    times = stored_times(registry.vehicle.pk)
    assert len(times) == 20 == len(set(times))
    assert worker.stats.duplicates == 5
    assert bus.backlog() == 0
    gateway.call(sink.close())
