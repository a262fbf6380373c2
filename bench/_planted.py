"""Planted misbehaviour against what the rules found: the report bench/soak.py --detection and
bench/detection.py print.

Per simulator way (fleet.simulator.misbehaviour.WAYS): how many of the vehicles planted with
it have a finding of one of its rules, and how many vehicles not planted so have one anyway,
with a few examples and what those vehicles were planted with. The second column is a lead,
not a verdict: a vehicle can misbehave as a side effect of another way (a bus running late
on the overspeed way passes stops) or be genuinely late or silent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def print_detection(ways_of: Mapping[str, Sequence[str]], found: Mapping[str, set[str]],
                    examples: Mapping[str, Sequence[tuple[str, str]]]) -> None:
    """``ways_of``: plate → ways planted; ``found``: rule → plates with a finding;
    ``examples``: rule → (plate, "start–end measured") in plate order."""
    from fleet.simulator.misbehaviour import WAYS

    planted: dict[str, set[str]] = {}
    for plate, ways in ways_of.items():
        for way in ways:
            planted.setdefault(way, set()).add(plate)
    print("detection (planted by the simulator → found by the rules):")
    for name, way in WAYS.items():
        plates = planted.get(name, set())
        hit = set().union(*(found.get(rule, set()) for rule in way.rules))
        caught = len(plates & hit)
        print(f"  {name:20s} planted {len(plates):5d}, found {caught:5d}"
              + (f" ({caught / len(plates):.0%})" if plates else "")
              + f"; found on vehicles not planted so: {len(hit - plates)}")
        missed = sorted(plates - hit)
        if missed and len(missed) <= len(plates) // 2:  # a few misses: name them to look at
            print(f"      missed: {', '.join(missed[:5])}" + (" …" if len(missed) > 5 else ""))
        others = sorted(hit - plates)
        if others:
            causes: dict[str, int] = {}
            for plate in others:
                key = ",".join(ways_of.get(plate, ())) or "none"
                causes[key] = causes.get(key, 0) + 1
            print("      those were planted with: " + ", ".join(
                f"{key} {n}" for key, n in sorted(causes.items(), key=lambda c: -c[1])[:6]))
        shown = set(others[:3])
        for rule in way.rules:
            for plate, text in examples.get(rule, ()):
                if plate in shown:
                    shown.discard(plate)
                    print(f"      e.g. {rule} {plate} {text}"[:150]
                          + f" (planted: {','.join(ways_of.get(plate, ())) or 'none'})")
