import datetime as dt
import uuid

import pytest
import redis
from django.conf import settings

from fleet.gateway.records import Fix
from fleet.telemetry.bus import StreamBus
from fleet.telemetry.leases import ShardLeases

CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 21, 8, 0, tzinfo=CST)


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def bus_prefix(redis_client):
    """A unique key prefix per test, cleaned up afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield prefix
    for key in redis_client.scan_iter(f"{prefix}:*"):
        redis_client.delete(key)


@pytest.fixture
def make_bus(redis_client, bus_prefix):
    def make(shards: int = 2) -> StreamBus:
        bus = StreamBus(redis_client, shards=shards, prefix=bus_prefix)
        bus.ensure_groups()
        return bus

    return make


@pytest.fixture
def make_leases(redis_client, bus_prefix):
    def make(worker_id: str, shards: int = 2, ttl_ms: int = 10_000) -> ShardLeases:
        return ShardLeases(redis_client, worker_id=worker_id, shards=shards, ttl_ms=ttl_ms,
                           prefix=bus_prefix)

    return make


def fix(vehicle_id: int, seconds: int, *, lon: float = 122.07, lat: float = 41.12,
        speed: float = 40.0, status: int = 0b11, backfill: bool = False) -> Fix:
    at = T0 + dt.timedelta(seconds=seconds)
    return Fix(sim="13912345678", vehicle_id=vehicle_id, plate="辽L10001", time=at,
               received_at=at.astimezone(dt.UTC) + dt.timedelta(seconds=1), latitude=lat,
               longitude=lon, speed_kmh=speed, heading=90, altitude=10, alarm=0, status=status,
               items=((0x01, (12345).to_bytes(4, "big")),), safety_alarms=(), backfill=backfill,
               serial=seconds, source=0x0704 if backfill else 0x0200)
