import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from fleet.models import Certificate, Terminal, Vehicle
from fleet.models.geography import validate_time_windows, window_contains
from tests import factories


def test_certificate_state_annotation_matches_python(world) -> None:
    driver = factories.make_driver(world.enterprise_a)
    today = dt.date(2026, 11, 21)
    for days in (-10, 0, 1, 180, 181, 400):
        factories.make_certificate(driver, valid_to=today - dt.timedelta(days=days))
    annotated = Certificate.objects.with_state(today).filter(driver=driver)
    assert [c.state for c in annotated.order_by("-valid_to")] == [
        c.state_on(today) for c in annotated.order_by("-valid_to")]
    assert [c.state for c in annotated.order_by("-valid_to")] == [
        "valid", "valid", "expired", "expired", "void", "void"]


def test_plate_and_colour_unique_together(world) -> None:
    with transaction.atomic(), pytest.raises(IntegrityError):
        Vehicle.objects.create(plate="辽L10001", plate_colour=1, kind="taxi", seats=5,
                               enterprise=world.enterprise_a,
                               registered_district=world.district_a)
    # Same number in another colour is another vehicle.
    factories.make_vehicle(world.enterprise_a, kind="heavy_truck", plate_number="辽L10001")


def test_one_active_terminal_per_vehicle(world) -> None:
    factories.make_terminal(world.vehicle_a)
    with transaction.atomic(), pytest.raises(IntegrityError):
        factories.make_terminal(world.vehicle_a)
    old = Terminal.objects.get(vehicle=world.vehicle_a)
    old.active = False
    old.save()
    factories.make_terminal(world.vehicle_a)


def test_vehicle_kind_rules(world) -> None:
    vehicle = Vehicle(plate="辽L55555", plate_colour=2, kind="hazmat",
                      enterprise=world.enterprise_a,
                      registered_district=world.district_a)
    with pytest.raises(ValidationError) as exc:
        vehicle.full_clean()
    assert {"rated_load_kg", "hazmat_goods_classes"} <= set(exc.value.message_dict)


def test_vehicle_plate_colour_mismatch(world) -> None:
    vehicle = Vehicle(plate="辽LD12345", plate_colour=1, kind="taxi", seats=5,
                      enterprise=world.enterprise_a, registered_district=world.district_a)
    with pytest.raises(ValidationError) as exc:
        vehicle.full_clean()
    assert "plate_colour" in exc.value.message_dict


def test_weekly_windows_over_midnight() -> None:
    windows = [{"days": [5], "start": "22:00", "end": "06:00"}]  # Friday night
    validate_time_windows(windows)
    friday_late = dt.datetime(2026, 11, 20, 23, 0)
    saturday_early = dt.datetime(2026, 11, 21, 5, 59)
    saturday_six = dt.datetime(2026, 11, 21, 6, 0)
    assert window_contains(windows, friday_late)
    assert window_contains(windows, saturday_early)
    assert not window_contains(windows, saturday_six)
    assert not window_contains(windows, dt.datetime(2026, 11, 19, 23, 0))  # Thursday


@pytest.mark.parametrize("windows", [{}, [{"days": [8], "start": "07:00", "end": "09:00"}],
                                     [{"days": [1], "start": "7h", "end": "09:00"}]])
def test_bad_windows_rejected(windows) -> None:
    with pytest.raises(ValidationError):
        validate_time_windows(windows)
