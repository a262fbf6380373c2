"""``manage.py simulate``: drive the demo city's terminals over real TCP connections.

    manage.py simulate [--host 127.0.0.1] [--port 6808] [--seed 1] [--vehicles N | --share F]
                       [--kinds taxi,bus] [--interval-min 10 --interval-max 30]
                       [--speedup 1 | --stepped] [--misbehave-share 0.05]
                       [--malformed-rate 0.001] [--duration SECONDS] [--start ISO-datetime]
                       [--ingest-key-file PATH [--ingest-url URL]]

Same seed, same demo city and same start time → the same reports from every terminal.
`--duration` is in simulated seconds (with `--speedup 60`, an hour of city takes a minute).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet.simulator.localtime import from_datetime, to_datetime
from fleet.simulator.meter import DEFAULT_PATH, HttpMeterSink, JsonLinesSink, MeterTripSink
from fleet.simulator.misbehaviour import WAYS
from fleet.simulator.runner import SimConfig, Simulation
from fleet.simulator.sampler import ReportConfig
from fleet.simulator.world import load_world

KINDS = ("taxi", "ride_hailing", "bus", "coach", "hazmat", "heavy_truck")


def _start(value: str) -> float:
    try:
        return from_datetime(dt.datetime.fromisoformat(value))  # naive = UTC+8 local time
    except ValueError:
        raise CommandError(f"--start must be an ISO datetime, not {value!r}") from None


def _names(value: str, allowed: Any, what: str) -> frozenset[str]:
    names = frozenset(v.strip() for v in value.split(",") if v.strip())
    unknown = names - set(allowed)
    if unknown:
        raise CommandError(f"unknown {what}: {', '.join(sorted(unknown))}")
    return names


class Command(BaseCommand):
    help = ("Simulate the fleet: one JT/T 808 TCP connection per terminal, register, "
            "authenticate, report while driving the demo road network; a share misbehaves.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=6808)
        parser.add_argument("--seed", type=int, default=1)
        sample = parser.add_mutually_exclusive_group()
        sample.add_argument("--vehicles", type=int, help="drive a sample of N terminals")
        sample.add_argument("--share", type=float, help="drive this share (0-1) of terminals")
        parser.add_argument("--kinds", help=f"only these vehicle kinds ({','.join(KINDS)})")
        parser.add_argument("--interval-min", type=int, default=10, help="report interval, s")
        parser.add_argument("--interval-max", type=int, default=30)
        parser.add_argument("--parked-interval", type=int, default=300,
                            help="report interval with the engine off, s")
        parser.add_argument("--heartbeat", type=int, default=120, help="heartbeat interval, s")
        pace = parser.add_mutually_exclusive_group()
        pace.add_argument("--speedup", type=float, default=1.0,
                          help="simulated seconds per real second")
        pace.add_argument("--stepped", action="store_true",
                          help="no waiting: send as fast as acknowledgements allow")
        parser.add_argument("--misbehave-share", type=float, default=0.05,
                            help="share of vehicles misbehaving in each way")
        parser.add_argument("--misbehaviours", help="only these ways: " + ",".join(WAYS))
        parser.add_argument("--malformed-rate", type=float, default=0.001,
                            help="share of reports preceded by a malformed frame")
        parser.add_argument("--duration", type=float, help="simulated seconds (default: forever)")
        parser.add_argument("--start", type=_start, default=None,
                            help="simulated start, ISO datetime; naive = UTC+8 (default: now)")
        parser.add_argument("--window", type=int, default=8,
                            help="unacknowledged messages in flight per terminal")
        parser.add_argument("--stagger", type=float, default=None,
                            help="spread the first connections over this many seconds "
                                 "(default: 10, or 1 per 200 terminals when more)")
        parser.add_argument("--meter-file", default=str(DEFAULT_PATH),
                            help="where taxi meter trips go (JSON lines) without --ingest-key-file")
        parser.add_argument("--ingest-url",
                            default="http://127.0.0.1:8000/api/v1/ingest/meter-trips",
                            help="the ingest API endpoint for meter trips")
        parser.add_argument("--ingest-key-file",
                            help="API key file (manage.py ingest_source NAME --key-file PATH): "
                                 "post meter trips to --ingest-url instead of the file")
        parser.add_argument("--assignment-file", default="var/simulator/misbehaving.json",
                            help="where to write which vehicle misbehaves how")

    def handle(self, *args: Any, **o: Any) -> None:
        if o["vehicles"] is not None and o["vehicles"] < 1:
            raise CommandError("--vehicles must be at least 1")
        for name in ("share", "misbehave_share", "malformed_rate"):
            if o[name] is not None and not 0 <= o[name] <= 1:
                raise CommandError(f"--{name.replace('_', '-')} must be within 0..1")
        try:
            reports = ReportConfig(o["interval_min"], o["interval_max"], o["parked_interval"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        config = SimConfig(
            start=o["start"] if o["start"] is not None else float(int(time.time())),
            host=o["host"], port=o["port"], seed=o["seed"], vehicles=o["vehicles"],
            share=o["share"], kinds=_names(o["kinds"], KINDS, "kinds") if o["kinds"] else None,
            reports=reports, heartbeat_s=o["heartbeat"], speedup=o["speedup"],
            stepped=o["stepped"], misbehave_share=o["misbehave_share"],
            ways=_names(o["misbehaviours"], WAYS, "misbehaviours") if o["misbehaviours"]
            else None, malformed_rate=o["malformed_rate"], duration=o["duration"],
            window=o["window"], stagger_s=o["stagger"])
        try:
            world = load_world(to_datetime(config.start))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        sim = Simulation(world, config, sink=self._sink(o))
        if not sim.terminals:
            raise CommandError("no terminals selected")
        where = sim.write_assignment(o["assignment_file"])
        self.stdout.write(f"simulating {len(sim.terminals)} terminals against "
                          f"{config.host}:{config.port} from "
                          f"{to_datetime(config.start).isoformat(timespec='seconds')}, seed "
                          f"{config.seed}; misbehaving vehicles listed in {where}")
        try:
            asyncio.run(sim.run())
        except KeyboardInterrupt:
            self.stdout.write("stopped")
        self.stdout.write(sim.summary())
        if isinstance(sim.sink, HttpMeterSink):
            self.stdout.write(f"meter trips to {sim.sink.url}: {sim.sink.accepted} accepted, "
                              f"{sim.sink.rejected} rejected, {sim.sink.dropped} dropped")

    def _sink(self, o: dict[str, Any]) -> MeterTripSink:
        if not o["ingest_key_file"]:
            return JsonLinesSink(Path(o["meter_file"]))
        try:
            key = Path(o["ingest_key_file"]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CommandError(f"cannot read the ingest key: {exc}") from exc
        if not key:
            raise CommandError(f"{o['ingest_key_file']} is empty")
        return HttpMeterSink(o["ingest_url"], key)
