"""Shard leases in Redis: one owner per shard at a time, kept alive by heartbeats.

A worker that stops renewing (crash, partition) loses its shards after the lease TTL; another
worker then takes them and re-processes their pending entries first.
"""

from __future__ import annotations

import math

import redis

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class ShardLeases:
    def __init__(self, client: redis.Redis, *, worker_id: str, shards: int, ttl_ms: int,
                 prefix: str = "fleet") -> None:
        self.client = client
        self.worker_id = worker_id
        self.shards = shards
        self.ttl_ms = ttl_ms
        self.prefix = prefix
        self.owned: set[int] = set()
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def _key(self, shard: int) -> str:
        return f"{self.prefix}:lease:{shard}"

    def _members_key(self) -> str:
        return f"{self.prefix}:workers"

    def heartbeat(self) -> set[int]:
        """Renew what we own, drop what we lost, take free shards up to our fair share."""
        for shard in list(self.owned):
            if not self._renew(keys=[self._key(shard)], args=[self.worker_id, self.ttl_ms]):
                self.owned.discard(shard)
        seconds, micros = self.client.time()  # the Redis clock, shared by every worker
        now_ms = seconds * 1000 + micros // 1000
        members = self._members_key()
        self.client.zadd(members, {self.worker_id: now_ms})
        self.client.zremrangebyscore(members, 0, now_ms - self.ttl_ms)
        live = max(1, self.client.zcard(members))
        fair_share = math.ceil(self.shards / live)
        for shard in range(self.shards):
            if len(self.owned) >= fair_share:
                break
            if shard not in self.owned and self.client.set(
                    self._key(shard), self.worker_id, nx=True, px=self.ttl_ms):
                self.owned.add(shard)
        # Give back shards beyond our fair share so a newcomer can take them.
        while len(self.owned) > fair_share:
            self.release(max(self.owned))
        return set(self.owned)

    def release(self, shard: int) -> None:
        self._release(keys=[self._key(shard)], args=[self.worker_id])
        self.owned.discard(shard)

    def release_all(self) -> None:
        for shard in list(self.owned):
            self.release(shard)
        self.client.zrem(self._members_key(), self.worker_id)
