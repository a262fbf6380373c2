"""The process's one channel-layer loop, against the real Redis channel layer."""

from __future__ import annotations

import asyncio
import logging
import uuid

from channels.layers import get_channel_layer
from django.conf import settings as django_settings

from fleet.live.sender import MAX_IN_FLIGHT, sender

GROUPS = 4
EACH = 75


def test_a_burst_larger_than_the_connection_pool_is_delivered(caplog, settings):
    """redis-py's pool holds 100 connections: a burst of 300 sends (a hundred alerts, three
    groups each) used to fail past the 100th with "Too many connections"."""
    tag = uuid.uuid4().hex[:8]
    settings.CHANNEL_LAYERS = {"default": {  # the real Redis layer, under a prefix of our own
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [django_settings.REDIS_URL], "prefix": f"t{tag}",
                   # this process's channels share one Redis list, which drops past capacity
                   "capacity": 1000}}}
    layer = get_channel_layer()
    groups = [f"sender-test-{tag}-{g}" for g in range(GROUPS)]

    async def subscribe() -> list[str]:
        channels = [await layer.new_channel() for _ in groups]
        for group, channel in zip(groups, channels, strict=True):
            await layer.group_add(group, channel)
        return channels

    channels = asyncio.run(subscribe())
    burst = [(group, {"type": "probe", "n": n}) for n in range(EACH) for group in groups]
    assert len(burst) > 100 > MAX_IN_FLIGHT
    with caplog.at_level(logging.WARNING, logger="fleet.live.sender"):
        sender.send_many(layer, burst)
    assert "failed" not in caplog.text

    async def drain() -> list[list[int]]:
        received: list[list[int]] = []
        for group, channel in zip(groups, channels, strict=True):
            got = [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(EACH)]
            received.append(sorted(got))
            await layer.group_discard(group, channel)
        return received

    assert asyncio.run(drain()) == [list(range(EACH))] * GROUPS
