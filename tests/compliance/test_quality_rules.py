import datetime as dt

from compliance.engine import quality as q
from tests.compliance.scenario import at


def test_drift_record_is_instantaneous_with_its_reason():
    record = q.drift_record(at(21, 8), 412.34, "implied_speed")
    assert record.start == record.end == at(21, 8)
    assert record.measured == {"reason": "implied_speed", "implied_kmh": 412.3}


def test_no_fix_with_acc_on_for_more_than_ten_minutes():
    state = q.NoFixWatch()
    moments = [at(21, 8) + dt.timedelta(minutes=m) for m in range(12)]
    opened = [e for m in moments if (e := q.no_fix_step(state, m, acc_on=True,
                                                        positioned=False))]
    assert [e.start for e in opened] == [at(21, 8)]
    q.no_fix_step(state, at(21, 8, 12), acc_on=True, positioned=True)
    assert state.closed[0].end == at(21, 8, 12)
    parked = q.NoFixWatch()
    assert not [m for m in moments if q.no_fix_step(parked, m, acc_on=False, positioned=False)]


def test_ride_hailing_orders():
    judge = q.judge_order
    ok = {"at": at(21, 8), "order_id": "D1", "vehicle_permit_valid": True,
          "driver_permit_valid": True, "driver_id": 7, "bound_driver_ids": {7}}
    assert judge(**ok) is None
    assert judge(**{**ok, "vehicle_permit_valid": False}).measured["problems"] == \
        "vehicle_permit"
    assert judge(**{**ok, "driver_id": None}).measured["problems"] == "driver_permit"
    assert judge(**{**ok, "driver_id": 8}).measured["problems"] == "binding_mismatch"
