"""The demo city at a small scale: counts, validity, determinism, geography, idempotency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q

from fleet.demo import DemoSpec, LoadReport, load_demo_city, summary
from fleet.demo.coachlines import EXEMPT_SHARE
from fleet.demo.operators import assign_lines, line_operators, share_lines
from fleet.demo.spec import (
    BUS_LINES_AT_SCALE_1,
    DISTRICT_CODES,
    ENTERPRISES_AT_SCALE_1,
    MIN_COACH_LINES,
    VEHICLES_AT_SCALE_1,
    scaled,
)
from fleet.demo.waybills import THROUGH_CLOSED_ZONES
from fleet.demo.writer import wipe
from fleet.geo.jurisdiction import DistrictResolver
from fleet.models import (
    BusLine,
    BusStop,
    Certificate,
    CoachLine,
    District,
    Driver,
    DriverVehicleBinding,
    Enterprise,
    RoadSegment,
    Terminal,
    Vehicle,
    Waybill,
    WaybillGoods,
    Zone,
)
from fleet.models.geography import CoachServiceType
from fleet.models.registry import REQUIRED_CERTIFICATE

SCALE = 0.02
SEED = 7
AS_OF = dt.date(2026, 1, 15)
SPEC = DemoSpec(scale=SCALE, seed=SEED, as_of=AS_OF)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[LoadReport]:
    """One committed load shared by the module's read-only tests, removed afterwards."""
    with django_db_blocker.unblock():
        report = load_demo_city(SPEC, validate_per_model=0)
        try:
            yield report
        finally:
            wipe()
            District.objects.filter(parent__isnull=False).delete()
            District.objects.all().delete()


def canonical() -> dict[str, list[Any]]:
    """Everything that identifies the data, by natural keys (primary keys are not compared)."""
    return {
        "enterprises": list(Enterprise.objects.order_by("credit_code").values_list(
            "credit_code", "name", "kind", "district__code", "permit_valid_to", "safety_contact")),
        "vehicles": list(Vehicle.objects.order_by("plate", "plate_colour").values_list(
            "plate", "plate_colour", "vin", "kind", "enterprise__credit_code", "seats",
            "rated_load_kg", "hazmat_goods_classes", "tank_capacity_m3", "status")),
        "drivers": list(Driver.objects.order_by("id_number").values_list(
            "id_number", "name", "phone", "enterprise__credit_code")),
        "certificates": list(Certificate.objects.order_by("kind", "number").values_list(
            "kind", "number", "driver__id_number", "valid_from", "valid_to")),
        "terminals": list(Terminal.objects.order_by("sim_number").values_list(
            "sim_number", "auth_code", "device_id", "protocol_edition", "alarm_standard",
            "vehicle__plate", "active")),
        "bindings": sorted(DriverVehicleBinding.objects.values_list(
            "driver__id_number", "vehicle__plate", "valid_from", "source")),
        "waybills": [(w.number, w.vehicle.plate, w.driver_id and w.driver.id_number,
                      w.escort_id and w.escort.id_number, w.state, w.planned_start,
                      w.planned_end, w.planned_route.wkt)
                     for w in Waybill.objects.select_related("vehicle", "driver", "escort")
                     .order_by("number")],
        "goods": sorted(WaybillGoods.objects.values_list(
            "waybill__number", "un_number", "hazard_class", "quantity")),
        "roads": [(r.name, r.road_class, r.geometry.wkt)
                  for r in RoadSegment.objects.order_by("pk")],
        "zones": [(z.name, z.kind, z.geometry.wkt) for z in Zone.objects.order_by("pk")],
        "stops": [(s.line.number, s.sequence, s.name, s.location.wkt)
                  for s in BusStop.objects.select_related("line").order_by("line__number",
                                                                            "sequence")],
        "bus_lines": list(BusLine.objects.order_by("number").values_list(
            "number", "enterprise__credit_code", "district__code")),
        "coach_lines": [(c.number, c.name, c.service_type, c.one_way_km, c.night_ban_exempt,
                         c.exemption_note, c.enterprise.credit_code, c.district.code,
                         c.route.wkt)
                        for c in CoachLine.objects.select_related("enterprise", "district")
                        .order_by("number")],
        "vehicle_lines": list(Vehicle.objects.filter(kind__in=["bus", "coach"]).order_by(
            "plate").values_list("plate", "bus_line__number", "coach_line__number")),
    }


def test_counts_follow_the_scale(demo: LoadReport, db) -> None:
    counts = summary(on=AS_OF)
    assert counts["vehicles_by_kind"] == {kind: scaled(n, SCALE)
                                          for kind, n in sorted(VEHICLES_AT_SCALE_1.items())}
    assert counts["enterprises_by_kind"] == {kind: scaled(n, SCALE)
                                             for kind, n in sorted(ENTERPRISES_AT_SCALE_1.items())}
    assert counts["models"]["BusLine"] == scaled(BUS_LINES_AT_SCALE_1, SCALE)
    assert counts["models"]["CoachLine"] == SPEC.coach_lines == MIN_COACH_LINES
    assert District.objects.filter(code__in=DISTRICT_CODES).count() == 4
    assert District.objects.get(code="211100").children.count() == 4
    assert 300 <= counts["models"]["RoadSegment"] <= 2500
    assert counts["roads_by_class"].keys() == {"expressway", "national", "arterial",
                                               "secondary", "local"}
    limits = dict(RoadSegment.objects.values_list("road_class", "speed_limit_kmh").distinct())
    assert limits == {"expressway": 120, "national": 80, "arterial": 60, "secondary": 50,
                      "local": 40}
    assert demo.inserted["fleet.Vehicle"] == sum(counts["vehicles_by_kind"].values())


def test_every_registry_row_passes_full_clean(demo: LoadReport, db) -> None:
    for model in (Enterprise, Vehicle, Driver, Certificate, Terminal, Waybill, Zone, BusLine,
                  CoachLine):
        for row in model.objects.all():
            row.full_clean()
    assert Vehicle.objects.exclude(plate__startswith="辽L").count() == 0


def test_every_vehicle_has_exactly_one_active_terminal(demo: LoadReport, db) -> None:
    active = Vehicle.objects.annotate(n=Count("terminals", filter=Q(terminals__active=True)))
    assert set(active.values_list("n", flat=True)) == {1}
    assert all(len(sim) == 12 for sim in Terminal.objects.values_list("sim_number", flat=True))
    assert set(Terminal.objects.values_list("protocol_edition", flat=True)) == {
        "2011", "2013", "2019"}
    assert set(Terminal.objects.values_list("alarm_standard", flat=True)) == {"su", "yue"}


def test_certificates_give_the_rules_material(demo: LoadReport, db) -> None:
    states = set(Certificate.objects.with_state(AS_OF).values_list("state", flat=True))
    assert {"valid", "expired", "void"} <= states
    for kind, cert_kind in REQUIRED_CERTIFICATE.items():
        drivers = Driver.objects.filter(bindings__vehicle__kind=kind)
        uncertified = drivers.exclude(certificates__kind=cert_kind)
        assert uncertified.exists(), f"some {kind} driver has no {cert_kind} certificate"
        assert drivers.filter(certificates__kind=cert_kind).exists()
    assert Certificate.objects.filter(kind="hazmat_escort").exists()
    green = Vehicle.objects.filter(plate_colour__in=[5, 6])
    assert green.filter(kind="taxi").exists() and green.filter(kind="bus").exists()


def test_waybills_give_the_rules_material(demo: LoadReport, db) -> None:
    states = set(Waybill.objects.values_list("state", flat=True))
    assert {"issued", "in_transit", "completed"} <= states
    assert Waybill.objects.filter(state="in_transit", escort__isnull=True).exists()
    active = Waybill.objects.filter(state__in=["issued", "in_transit"])
    idle = Vehicle.objects.filter(kind="hazmat").exclude(waybills__in=active)
    assert idle.exists()
    classes = set(WaybillGoods.objects.values_list("hazard_class", flat=True))
    assert "6.1" in classes and any(c.startswith("1.") for c in classes)
    for waybill in Waybill.objects.select_related("vehicle"):
        goods = set(waybill.goods.values_list("hazard_class", flat=True))
        assert goods and goods <= set(waybill.vehicle.hazmat_goods_classes)
        assert waybill.planned_route.num_points >= 2
    restricted = Zone.objects.filter(kind="hazmat_restricted")
    assert any(z.time_windows for z in restricted) and any(not z.time_windows for z in restricted)
    assert set(Zone.objects.filter(kind="school").values_list("speed_limit_kmh", flat=True)) == {30}
    assert {"depot", "transport_hub", "bus_stop", "school"} <= set(
        Zone.objects.values_list("kind", flat=True))


def test_all_geography_lies_inside_the_city(demo: LoadReport, db) -> None:
    resolver = DistrictResolver.from_db()

    def inside(lon: float, lat: float) -> bool:
        return resolver.resolve(lon, lat).how in {"inside", "shared"}

    for road in RoadSegment.objects.all():
        assert all(inside(*c) for c in road.geometry.coords), road
    for zone in Zone.objects.all():
        assert all(inside(*c) for c in zone.geometry.coords[0]), zone
    for stop in BusStop.objects.all():
        assert inside(*stop.location.coords), stop
        assert stop.radius_m == 30
    for line in BusLine.objects.all():
        assert all(inside(*c) for c in line.route.coords)
        sequences = list(line.stops.values_list("sequence", flat=True))
        assert sequences == list(range(1, len(sequences) + 1)) and len(sequences) >= 2
    for waybill in Waybill.objects.all():
        assert inside(*waybill.origin.coords) and inside(*waybill.destination.coords)
    for coach_line in CoachLine.objects.all():
        assert all(inside(*c) for c in coach_line.route.coords), coach_line


def test_second_load_without_replace_is_a_no_op(demo: LoadReport, db, capsys) -> None:
    before = summary(on=AS_OF)["models"]
    again = load_demo_city(SPEC)
    assert not again.loaded and "already loaded" in again.message
    call_command("load_demo_city", "--scale", "0.02", "--seed", "99", "--skip-checks")
    assert "already loaded" in capsys.readouterr().out
    assert summary(on=AS_OF)["models"] == before


def test_same_seed_same_city_other_seed_other_city(demo: LoadReport, db, capsys) -> None:
    first = canonical()
    call_command("load_demo_city", "--scale", "0.02", "--seed", str(SEED), "--as-of",
                 AS_OF.isoformat(), "--replace", "--skip-checks")
    out = capsys.readouterr().out
    assert "demo city loaded" in out and "vehicles_by_kind" in out and "REPAIRED" in out
    assert canonical() == first
    load_demo_city(DemoSpec(scale=SCALE, seed=SEED + 1, as_of=AS_OF), replace=True,
                   validate_per_model=0)
    other = canonical()
    for key in ("enterprises", "vehicles", "drivers", "certificates", "terminals", "waybills",
                "stops", "coach_lines", "vehicle_lines"):
        assert other[key] != first[key], key
    assert other["roads"] == first["roads"]  # the road network is the city's, not the seed's


# --- lines: who runs them, which vehicle runs which -------------------------------------------

def test_every_bus_runs_a_line_of_its_company(demo: LoadReport, db) -> None:
    buses = Vehicle.objects.filter(kind="bus")
    assert not buses.filter(bus_line__isnull=True).exists()
    assert not buses.exclude(bus_line__enterprise=F("enterprise")).exists()
    per_line = list(BusLine.objects.annotate(n=Count("vehicles")).values_list("n", flat=True))
    assert min(per_line) >= 1 and max(per_line) - min(per_line) <= 2, per_line
    assert not Vehicle.objects.exclude(kind="bus").filter(bus_line__isnull=False).exists()


def test_coach_lines_give_the_night_ban_its_material(demo: LoadReport, db) -> None:
    lines = CoachLine.objects.all()
    assert set(lines.values_list("service_type", flat=True)) == set(CoachServiceType.values)
    exempt = lines.filter(night_ban_exempt=True)
    assert exempt.count() == max(1, round(lines.count() * EXEMPT_SHARE))
    assert all(line.qualifies_for_night_ban_exemption and line.exemption_note
               for line in exempt)
    assert lines.filter(night_ban_exempt=False).exists()
    assert not lines.filter(night_ban_exempt=False).exclude(exemption_note="").exists()
    coaches = Vehicle.objects.filter(kind="coach")
    on_a_line = coaches.filter(coach_line__isnull=False)
    assert on_a_line.count() >= coaches.count() * 0.7
    assert not on_a_line.exclude(coach_line__enterprise=F("enterprise")).exists()
    assert not Vehicle.objects.exclude(kind="coach").filter(coach_line__isnull=False).exists()
    # Lines leaving the city are longer than their route inside it.
    assert lines.filter(one_way_km__gt=200).exists()


def test_hazmat_parking_and_routes_through_closed_zones(demo: LoadReport, db) -> None:
    parking = Zone.objects.filter(kind="hazmat_parking")
    assert parking.count() >= 3
    restricted = list(Zone.objects.filter(kind="hazmat_restricted"))
    trunk = RoadSegment.objects.filter(road_class__in=["expressway", "national"])
    for zone in parking:
        assert not any(zone.geometry.intersects(r.geometry) for r in restricted), zone
        assert trunk.filter(geometry__intersects=zone.geometry).exists(), zone
    closed = [z for z in restricted if not z.time_windows]
    in_transit = Waybill.objects.filter(state="in_transit")
    through = [w for w in in_transit if any(w.planned_route.intersects(z.geometry)
                                             for z in closed)]
    assert len(through) >= min(THROUGH_CLOSED_ZONES, in_transit.count())
    for waybill in through:
        assert waybill.planned_end > waybill.planned_start


def test_lines_are_shared_by_fleet_size() -> None:
    """Scale-1 shapes: four bus companies with a long-tail fleet share 48 lines ~12 buses each."""
    fleets = [400, 120, 40, 15]
    quota = share_lines(fleets, 48)
    assert sum(quota) == 48 and all(q >= 1 for q in quota)
    operators = line_operators(fleets, 48)
    assert [operators.count(i) for i in range(4)] == quota
    assert sorted(operators[:4]) == [0, 1, 2, 3]  # interleaved, not one company's block

    class Owner:
        pass

    owners = [Owner() for _ in fleets]
    vehicles = [type("V", (), {"enterprise": owners[i]})() for i, n in enumerate(fleets)
                for _ in range(n)]
    lines = list(range(48))
    assigned = assign_lines(vehicles, lines, [owners[i] for i in operators])  # type: ignore
    loads = [assigned.count(line) for line in lines]
    assert min(loads) >= 9 and max(loads) <= 16, loads
    assert share_lines([5, 0, 3], 1) == [1, 0, 0]  # fewer lines than operators: largest first
    # An operator without lines: its vehicles go to the least-loaded line, or none at all.
    lonely = [type("V", (), {"enterprise": Owner()})()]
    assert assign_lines(lonely, ["x"], [owners[0]]) == ["x"]  # type: ignore[list-item]
    assert assign_lines(lonely, ["x"], [owners[0]], others_if_none=False) == [None]  # type: ignore
