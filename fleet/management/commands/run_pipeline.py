import signal
import threading

import redis
from django.conf import settings
from django.core.management.base import BaseCommand

from fleet.live.publisher import LivePublisher
from fleet.telemetry.bus import StreamBus
from fleet.telemetry.leases import ShardLeases
from fleet.telemetry.worker import PipelineWorker, default_worker_id


class Command(BaseCommand):
    help = "Run one ingest pipeline worker (Redis Streams → PostGIS). Start several to scale."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--batch", type=int, default=settings.PIPELINE_BATCH_SIZE)
        parser.add_argument("--no-rules", action="store_true",
                            help="store only; do not run the detection rules "
                                 "(default: settings.RULES_ENABLED)")

    def handle(self, *args: object, **options: object) -> None:
        client = redis.Redis.from_url(settings.REDIS_URL)
        bus = StreamBus(client, shards=settings.PIPELINE_SHARDS, prefix=settings.BUS_PREFIX)
        leases = ShardLeases(client, worker_id=default_worker_id(),
                             shards=settings.PIPELINE_SHARDS,
                             ttl_ms=settings.PIPELINE_LEASE_TTL_MS, prefix=settings.BUS_PREFIX)
        live = LivePublisher()
        rules = None
        if settings.RULES_ENABLED and not options["no_rules"]:
            from compliance.runtime.detector import Detector

            rules = Detector()
        worker = PipelineWorker(bus, leases, batch_size=int(options["batch"]),  # type: ignore[arg-type]
                                on_commit=lambda result: live.publish(result.states),
                                rules=rules)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        if rules is None:
            judged = "rules off"
        else:
            from config import native

            judged = "rules compiled" if native.in_use() else "rules interpreted (no current build)"
        self.stdout.write(f"pipeline worker {leases.worker_id}: {settings.PIPELINE_SHARDS} shards, "
                          f"{judged}")
        worker.run(stop)
        p50, p99 = worker.stats.latency_percentile(0.5), worker.stats.latency_percentile(0.99)
        self.stdout.write(f"stopped after {worker.stats.records} records; new fixes "
                          f"{worker.stats.new_fixes}; latency received→commit p50 {p50} s, "
                          f"p99 {p99} s")
