"""The ingest bus: Redis Streams sharded by vehicle, behind a small publish/read/ack interface
so another engine (Kafka) can replace it.

Each shard is one stream with one consumer group. The consumer name is the shard's own name, so
whichever worker holds the shard's lease reads the same pending-entries list: after a crash the
next owner starts by re-reading those pending entries (at-least-once).

A publish writes one entry per shard it touches (up to ENTRY_MAX_RECORDS records each, see
fleet.telemetry.wire), not one per record: Redis commands, stream entries and acknowledgements
then cost per batch. Readers get one BusEntry per record; the records of an entry share its id,
are acknowledged together (after the batch holding all of them committed) and are dead-lettered
one by one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis

from fleet.telemetry import wire

GROUP = "pipeline"
# Records per stream entry at most: Redis commands and entries are per batch of this size,
# and an entry is read whole, so this also bounds how far one read can overshoot (StreamBus.read).
ENTRY_MAX_RECORDS = 64


@dataclass(frozen=True, slots=True)
class BusEntry:
    shard: int
    entry_id: str
    payload: bytes


class BusUnavailable(Exception):
    """The bus cannot take the batch; nothing of it was published."""


def stream_key(prefix: str, shard: int) -> str:
    return f"{prefix}:ingest:{shard}"


def dead_letter_key(prefix: str) -> str:
    return f"{prefix}:ingest:dead"


def _entries(records: Sequence[wire.BusRecord], shards: int, prefix: str,
             ) -> list[tuple[str, bytes]]:
    """(stream key, entry payload) for a batch: records grouped by shard, order kept."""
    by_shard: dict[int, list[bytes]] = {}
    encode, shard_key = wire.encode, wire.shard_key
    for record in records:
        shard = shard_key(record) % shards
        encoded = by_shard.get(shard)
        if encoded is None:
            encoded = by_shard[shard] = []
        encoded.append(encode(record))
    entries = []
    for shard, encoded in by_shard.items():
        key = stream_key(prefix, shard)
        for start in range(0, len(encoded), ENTRY_MAX_RECORDS):
            entries.append((key, wire.pack_entry(encoded[start:start + ENTRY_MAX_RECORDS])))
    return entries


class StreamBus:
    """Synchronous side: the pipeline workers and the HTTP ingest API."""

    def __init__(self, client: redis.Redis, *, shards: int, prefix: str = "fleet") -> None:
        self.client = client
        self.shards = shards
        self.prefix = prefix
        # By shard: records per entry and entries in its last read (sizes the next one).
        self._last_read: dict[int, tuple[float, int]] = {}

    @classmethod
    def from_url(cls, url: str, *, shards: int, prefix: str = "fleet") -> StreamBus:
        return cls(redis.Redis.from_url(url), shards=shards, prefix=prefix)

    def ensure_groups(self) -> None:
        for shard in range(self.shards):
            try:
                self.client.xgroup_create(stream_key(self.prefix, shard), GROUP, id="0",
                                          mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def publish(self, records: Sequence[wire.BusRecord]) -> None:
        """All records or none (one MULTI/EXEC)."""
        if not records:
            return
        try:
            with self.client.pipeline(transaction=True) as pipe:
                for key, payload in _entries(records, self.shards, self.prefix):
                    pipe.xadd(key, {"r": payload})
                pipe.execute()
        except redis.RedisError as exc:
            raise BusUnavailable(str(exc)) from exc

    def read(self, shard: int, *, count: int, block_ms: int | None, pending: bool,
             ) -> list[BusEntry]:
        """About ``count`` records of the shard: pending ones (``pending=True``) or new ones.

        Redis counts entries, not records, so the entry count comes from the records per
        entry of the shard's last read: a few full entries under load, many small ones when
        quiet (a backlog of small entries still makes a batch of ``count`` records). It grows
        at most to twice the entries of the last read (+16), and entries count as full before
        the first read: a worker starting on a large backlog, or a quiet shard meeting a burst
        of full entries, does not swallow ``count`` full entries at once.
        """
        key = stream_key(self.prefix, shard)
        per_entry, last = self._last_read.get(shard, (ENTRY_MAX_RECORDS, 0))
        entry_count = max(1, min(count, round(count / per_entry), 2 * last + 16))
        response = self.client.xreadgroup(GROUP, f"shard-{shard}", {key: "0" if pending else ">"},
                                          count=entry_count,
                                          block=None if pending else block_ms)
        entries: list[BusEntry] = []
        read = 0
        for _stream, messages in response or []:
            for raw_id, data in messages:
                if not data:  # pending entries already deleted come back empty
                    continue
                read += 1
                entry_id = raw_id.decode()
                # No "r" field: not ours; an empty payload fails to decode, so it is
                # dead-lettered rather than blocking the shard.
                payload = data.get(b"r", b"")
                try:
                    records = wire.split_entry(payload)
                except wire.WireError:
                    records = [payload]  # decoding fails again: dead-lettered whole
                entries.extend([BusEntry(shard, entry_id, record) for record in records])
        self._last_read[shard] = (len(entries) / read if read else per_entry, read)
        return entries

    def ack(self, shard: int, entry_ids: Sequence[str]) -> None:
        """Acknowledge and delete: the stream only holds what is still to be processed.

        ``entry_ids`` may repeat (one per record of an entry)."""
        entry_ids = list(dict.fromkeys(entry_ids))
        if not entry_ids:
            return
        key = stream_key(self.prefix, shard)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.xack(key, GROUP, *entry_ids)
            pipe.xdel(key, *entry_ids)
            pipe.execute()

    def dead_letter(self, entry: BusEntry, reason: str) -> None:
        self.client.xadd(dead_letter_key(self.prefix),
                         {"shard": entry.shard, "id": entry.entry_id, "payload": entry.payload,
                          "reason": reason})

    def backlog(self) -> int:
        """Records still in the streams. Reads every entry: for tests and benches."""
        total = 0
        for shard in range(self.shards):
            for _entry_id, data in self.client.xrange(stream_key(self.prefix, shard)):
                try:
                    total += len(wire.split_entry(data.get(b"r", b"")))
                except wire.WireError:
                    total += 1
        return total


class AsyncStreamPublisher:
    """The gateway's sink: publishes a batch atomically or raises (gateway backpressure).

    Group commit: publish() calls that arrive while a flush is in flight wait for the next one,
    which sends all of them in one MULTI/EXEC. Thousands of connections each acking a few frames
    then cost a handful of Redis round trips instead of one each. Each caller still learns
    whether *its* records were accepted (all pending callers share one transaction's fate).
    """

    def __init__(self, url: str, *, shards: int, prefix: str = "fleet",
                 max_batch: int = 5000) -> None:
        self.client = aioredis.Redis.from_url(url)
        self.shards = shards
        self.prefix = prefix
        self.max_batch = max_batch
        self._pending: deque[tuple[Sequence[wire.BusRecord], asyncio.Future[None]]] = deque()
        self._flushing = False

    async def publish(self, records: Sequence[wire.BusRecord]) -> None:
        if not records:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((records, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush_loop())
        await future

    async def _flush_loop(self) -> None:
        from fleet.gateway.sink import SinkUnavailable

        try:
            while self._pending:
                batch, size = [], 0
                while self._pending and size < self.max_batch:
                    records, future = self._pending.popleft()
                    batch.append((records, future))
                    size += len(records)
                try:
                    await self._send([r for records, _ in batch for r in records])
                except (redis.RedisError, OSError) as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(
                                SinkUnavailable(f"ingest bus unavailable: {exc}"))
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._flushing = False

    async def _send(self, records: list[wire.BusRecord]) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            for key, payload in _entries(records, self.shards, self.prefix):
                pipe.xadd(key, {"r": payload})
            await pipe.execute()

    async def close(self) -> None:
        await self.client.aclose()


def gateway_sink() -> AsyncStreamPublisher:
    """Factory named by settings.GATEWAY_SINK: the gateway publishes onto the ingest bus."""
    from django.conf import settings

    return AsyncStreamPublisher(settings.REDIS_URL, shards=settings.PIPELINE_SHARDS,
                                prefix=settings.BUS_PREFIX)
