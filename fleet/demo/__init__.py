"""The demo city: a deterministic, Panjin-sized fleet for development, demos and benchmarks.

``load_demo_city(DemoSpec(scale=…, seed=…, as_of=…))`` imports the four real district boundaries,
generates roads, zones, bus and coach lines, enterprises, vehicles (buses and scheduled coaches on
their lines), drivers, certificates, terminals, bindings and hazmat waybills, and bulk-inserts
them in one transaction. Identical spec (scale, seed *and* as-of date) → identical data.
``summary()`` counts what the registry holds.

Modules: ``spec`` (counts and seeding), ``identifiers`` and ``names`` (valid plates, VINs, codes,
names), ``roads``, ``places``, ``buslines`` and ``coachlines`` (geography), ``operators`` (who
runs which line, which vehicle runs which), ``registry``, ``people``, ``goods`` and ``waybills``
(the fleet), ``build`` (all of it in memory), ``writer`` and ``loader`` (the database),
``counts`` (the summary).
"""

from fleet.demo.counts import format_summary, summary
from fleet.demo.loader import LoadReport, load_demo_city
from fleet.demo.spec import DemoSpec

__all__ = ["DemoSpec", "LoadReport", "format_summary", "load_demo_city", "summary"]
