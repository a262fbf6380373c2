"""Detection at city scale: the simulated city's traffic through the rules in one process,
violations found against the misbehaviour the simulator planted.

Run from the project root (the demo city must be loaded; `make run` does that):
    .venv/bin/python bench/detection.py [--hours 3] [--share 1.0] [--start-hour 8]

bench/soak.py --detection checks the same end to end (terminals over TCP, gateway, pipeline,
database) for a few hundred vehicles; this runs every terminal of the city (11,971 in the
demo) for hours of data time in minutes, to find the rare false findings a small sample
misses. Each report is the simulator's 0x0200 body read by the gateway's own `make_fix`
(no position without the positioned bit, active-safety items as their events) and meter
trips arrive when the passenger alights, as from the ingest API; then `from_record` and the
live `Detector` (registry facts and settings from the database, nothing written). Not
covered here: driver cards (the pipeline worker matches them with the registry in its
transaction; cert_invalid is checked by the soak), backfill and transport faults.
Prints the fixes per second through the rule stage, then the detection report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from _city import as_records, city, planned  # noqa: E402  (bench/, next to this script)
from _planted import print_detection  # noqa: E402

from compliance.runtime.batch import places  # noqa: E402
from compliance.runtime.detector import Detector  # noqa: E402
from compliance.runtime.inputs import RuleInput, from_record, order_key  # noqa: E402
from config import native  # noqa: E402
from fleet.jt808 import CST  # noqa: E402
from fleet.simulator.localtime import from_datetime  # noqa: E402
from fleet.simulator.plan import Fix as PlannedFix  # noqa: E402
from fleet.simulator.plan import MeterTrip  # noqa: E402
from fleet.simulator.runner import Simulation  # noqa: E402

# A past Monday: fixes must not be in the future to the rules (RULES.md §3), and nothing is
# written, so the day may overlap anything.
DAY = dt.datetime(2025, 1, 6, tzinfo=CST)
CHUNK = 5000  # reports per batch, as a worker takes them off the bus


def inputs(simulation: Simulation, until: float) -> Iterator[tuple[int, list[RuleInput]]]:
    """(vehicle id, the rule inputs of one planned fix or meter trip), every terminal merged in
    time order up to ``until``, read as the pipeline reads them (bench/_city.py)."""
    for _, terminal, item in planned(simulation, kinds=(PlannedFix, MeterTrip), until=until):
        yield terminal.vehicle.id, [found[1] for record in as_records(terminal, item)
                                    if (found := from_record(record)) is not None]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=3.0, help="data time to run")
    parser.add_argument("--share", type=float, default=None,
                        help="this share (0-1) of the terminals (default: all)")
    parser.add_argument("--start-hour", type=int, default=8, choices=range(24))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = DAY.replace(hour=args.start_hour)
    simulation = city(start, seed=args.seed, share=args.share)
    if not simulation.terminals:
        sys.exit("no terminals: load the demo city first (make run, or manage.py "
                 "load_demo_city)")
    detector = Detector(send_warnings=False, restore=False)
    plates = {t.vehicle.id: t.vehicle.plate for t in simulation.terminals}
    found: dict[str, set[str]] = defaultdict(set)
    examples: dict[str, list[tuple[str, str]]] = defaultdict(list)
    stream = inputs(simulation, from_datetime(start) + args.hours * 3600)
    reports, rule_seconds, started = 0, 0.0, time.perf_counter()
    while chunk := list(itertools.islice(stream, CHUNK)):
        per_vehicle: dict[int, list[RuleInput]] = defaultdict(list)
        for vehicle_id, items in chunk:
            per_vehicle[vehicle_id].extend(items)
        reports += len(chunk)
        began = time.perf_counter()
        detector.facts.geometry.warm(*places(per_vehicle, detector.facts))
        for vehicle_id, items in per_vehicle.items():
            detector.feed(vehicle_id, sorted(items, key=order_key))
        rule_seconds += time.perf_counter() - began
        for vehicle_id in per_vehicle:
            state = detector.states[vehicle_id]
            for finding in state.dirty.values():
                episode = finding.episode
                found[episode.rule].add(plates[vehicle_id])
                until = f"{episode.end.astimezone(CST):%H:%M:%S}" if episode.end else ""
                examples[episode.rule].append(
                    (plates[vehicle_id],
                     f"{episode.start.astimezone(CST):%H:%M:%S}–{until} {episode.measured}"))
            state.dirty.clear()  # as the writer does once the batch commits
    elapsed = time.perf_counter() - started
    print(f"{len(simulation.terminals)} terminals, {args.hours:g} h of data time from "
          f"{start:%Y-%m-%d %H:%M}: {reports:,} reports and meter trips in {elapsed:.0f} s "
          f"(the simulator's planning included); rule stage {reports / rule_seconds:,.0f} "
          f"per second, {'compiled (mypyc)' if native.in_use() else 'interpreted'}")
    ways_of = {t.vehicle.plate: list(simulation.ways[t.sim]) for t in simulation.terminals
               if simulation.ways.get(t.sim)}
    for rule in examples:
        examples[rule].sort()
    print_detection(ways_of, found, examples)


if __name__ == "__main__":
    main()
