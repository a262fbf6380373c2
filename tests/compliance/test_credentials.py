import datetime as dt

from compliance.engine import credentials as c
from tests.compliance.scenario import at, drive, minutes, stop

TODAY = at(21, 8)


def cert(valid_to: dt.date, kind: str = "hazmat_driver") -> c.CertificateRecord:
    return c.CertificateRecord(kind, "2111000001", None, valid_to)


def judge(**overrides):
    arguments = {"at": TODAY, "card_number": "2111000001", "card_valid_until": None,
                 "registry": cert(dt.date(2030, 1, 1)), "required_kind": "hazmat_driver"}
    arguments.update(overrides)
    return c.judge_sign_in(**arguments)


def test_valid_certificate_is_fine():
    assert judge() is None
    assert judge(registry=cert(TODAY.date())) is None  # valid through its last day


def test_expired_yesterday_and_void_after_180_days():
    assert judge(registry=cert(TODAY.date() - dt.timedelta(days=1))).measured["state"] == \
        "expired"
    assert judge(registry=cert(TODAY.date() - dt.timedelta(days=180))).measured["state"] == \
        "expired"
    assert judge(registry=cert(TODAY.date() - dt.timedelta(days=181))).measured["state"] == \
        "void"


def test_missing_number_wrong_kind_and_card_fallback():
    assert judge(card_number="").measured["state"] == "missing"
    assert judge(registry=cert(dt.date(2030, 1, 1), kind="taxi_driver")).measured["state"] == \
        "missing"
    by_card = judge(registry=None, card_valid_until=TODAY.date() - dt.timedelta(days=10))
    assert by_card.measured == {"state": "expired", "source": "card",
                                "certificate": "2111000001"}
    assert judge(registry=None, card_valid_until=None).measured["state"] == "missing"


def test_no_waybill_one_episode_per_driving_run():
    state = c.WaybillWatch()
    fixes = drive(at(21, 8), minutes(10))
    fixes += stop(fixes[-1].time, minutes(5))
    fixes += drive(at(21, 8, 15), minutes(10))[1:]
    opened = [e for f in fixes if (e := c.no_waybill_step(state, f, loaded=True,
                                                          active_waybill=False))]
    assert len(opened) == 2 and len(state.closed) == 1
    assert state.closed[0].start == at(21, 8) and state.closed[0].end == at(21, 8, 10, 30)


def test_no_waybill_not_when_a_waybill_is_active_or_empty():
    for loaded, active in ((True, True), (False, False)):
        state = c.WaybillWatch()
        assert not [f for f in drive(at(21, 8), minutes(5))
                    if c.no_waybill_step(state, f, loaded=loaded, active_waybill=active)]


def test_no_escort():
    assert c.no_escort_on_activation(at=TODAY, waybill_number="W1", escort_id=None) is not None
    assert c.no_escort_on_activation(at=TODAY, waybill_number="W1", escort_id=3) is None
