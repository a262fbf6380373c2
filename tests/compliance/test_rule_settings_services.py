"""Writes of rule settings: versions, conflicts, refusals, resolution and the live reload."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from accounts.models import AuditEvent, User
from compliance import rule_settings
from compliance import selectors_settings as selectors
from compliance.catalogue import RULES
from compliance.models import RuleSetting
from compliance.rule_settings import LiveSettings, load_snapshot
from compliance.services.rule_settings import (
    RETIRE_ACTION,
    SAVE_ACTION,
    SettingConflict,
    SettingInvalid,
    SettingPermissionDenied,
    retire_rule_setting,
    save_rule_setting,
)

pytestmark = pytest.mark.django_db


def save(actor: User, *, rule: str = "overspeed", district: Any = None, kind: str = "",
         expected: int | None = None, **fields: Any) -> RuleSetting:
    values: dict[str, Any] = {"enabled": True, "params": {}, "auto_confirm": False,
                              "tts_warning": False, "note": "按文件调整"}
    values.update(fields)
    return save_rule_setting(rule=rule, district=district, vehicle_kind=kind, actor=actor,
                             expected_version=expected, **values)


def duration(rule_district: int | None, kind: str) -> float | int:
    return load_snapshot().resolve("overspeed", rule_district, kind).params["min_duration_s"]


def test_each_save_is_a_new_version_and_the_history_shows_the_diffs(bureau_user):
    first = save(bureau_user, params={"min_duration_s": 40}, note="first")
    second = save(bureau_user, params={"min_duration_s": 50}, expected=1, note="second")

    first.refresh_from_db()
    assert (first.version, first.current) == (1, False)
    assert (second.version, second.current) == (2, True)
    # The full parameter set is stored, not just what differs.
    assert second.params == {**RULES["overspeed"].defaults(), "min_duration_s": 50}
    assert second.created_by == bureau_user

    audits = list(AuditEvent.objects.filter(action=SAVE_ACTION).order_by("pk"))
    assert len(audits) == 2
    assert audits[0].detail["before"] is None
    assert audits[1].detail["before"]["params"]["min_duration_s"] == 40
    assert audits[1].detail["after"]["params"]["min_duration_s"] == 50

    entries = selectors.history(bureau_user, RULES["overspeed"])
    assert [(e.version, e.note, e.current) for e in entries] == [(2, "second", True),
                                                                  (1, "first", False)]
    assert [(c.name, c.before, c.after) for c in entries[0].changes] == [
        ("min_duration_s", "40 s", "50 s")]
    assert entries[1].first
    assert [(c.before, c.after) for c in entries[1].changes] == [("30 s", "40 s")]


def test_a_new_override_is_shown_against_what_it_inherited(world, bureau_user):
    save(bureau_user, params={"min_duration_s": 45}, tts_warning=True)
    save(bureau_user, district=world.district_a, kind="hazmat", tts_warning=True,
         params={"min_duration_s": 45, "hazmat_cap": 50})

    newest = selectors.history(bureau_user, RULES["overspeed"])[0]
    assert newest.first
    # Only the hazmat cap changed for these vehicles; duration and TTS came from the city.
    assert [(c.name, c.before, c.after) for c in newest.changes] == [
        ("hazmat_cap", "60 km/h", "50 km/h")]


def test_a_stale_version_is_a_conflict_and_writes_nothing(bureau_user):
    save(bureau_user, params={"min_duration_s": 40})
    save(bureau_user, params={"min_duration_s": 50}, expected=1)  # someone else, in between

    with pytest.raises(SettingConflict) as caught:
        save(bureau_user, params={"min_duration_s": 60}, expected=1)
    assert caught.value.code == "conflict"
    # A "new override" on a scope that already has a row is the same mistake.
    with pytest.raises(SettingConflict):
        save(bureau_user, params={"min_duration_s": 60}, expected=None)

    assert RuleSetting.objects.count() == 2
    assert RuleSetting.objects.get(current=True).params["min_duration_s"] == 50
    assert AuditEvent.objects.filter(action=SAVE_ACTION).count() == 2


def test_two_editors_at_once_exactly_one_wins(transactional_db, world, bureau_user):
    save(bureau_user, params={"min_duration_s": 40})
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def edit(value: int) -> None:
        try:
            barrier.wait()
            save(bureau_user, params={"min_duration_s": value}, expected=1)
            outcomes.append("saved")
        except SettingConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(v,)) for v in (50, 60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["conflict", "saved"]
    assert list(RuleSetting.objects.filter(current=True).values_list("version", flat=True)) == [2]
    assert RuleSetting.objects.count() == 2


@pytest.mark.parametrize(("fields", "code"), [
    ({"params": {"min_duration_s": 9999}}, "invalid_params"),
    ({"params": {"min_duration_s": "abc"}}, "invalid_params"),
    ({"params": {"no_such_param": 1}}, "invalid_params"),
    ({"rule": "no_meter", "kind": "bus"}, "kind_not_applicable"),
    ({"rule": "no_meter", "tts_warning": True}, "tts_not_allowed"),
    ({"rule": "gps_drift", "auto_confirm": True}, "auto_confirm_not_allowed"),
    ({"note": "   "}, "note_required"),
    ({"rule": "no_such_rule"}, "unknown_rule"),
])
def test_invalid_settings_are_refused_and_nothing_is_written(bureau_user, fields, code):
    with pytest.raises(SettingInvalid) as caught:
        save(bureau_user, **fields)
    assert caught.value.code == code
    assert RuleSetting.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_saving_the_same_values_again_is_refused(bureau_user):
    save(bureau_user, params={"min_duration_s": 40})
    with pytest.raises(SettingInvalid) as caught:
        save(bureau_user, params={"min_duration_s": 40}, expected=1)
    assert caught.value.code == "unchanged"
    assert RuleSetting.objects.count() == 1


def test_resolution_most_specific_scope_wins(world, bureau_user):
    a = world.district_a
    assert duration(a.pk, "taxi") == 30  # built-in default

    save(bureau_user, params={"min_duration_s": 31})
    assert duration(a.pk, "taxi") == 31  # city

    save(bureau_user, kind="taxi", params={"min_duration_s": 32})
    assert duration(a.pk, "taxi") == 32  # city + kind beats city
    assert duration(a.pk, "bus") == 31

    save(bureau_user, district=a, params={"min_duration_s": 33})
    assert duration(a.pk, "taxi") == 33  # district beats city + kind
    assert duration(a.pk, "bus") == 33

    row = save(bureau_user, district=a, kind="taxi", params={"min_duration_s": 34})
    effective = load_snapshot().resolve("overspeed", a.pk, "taxi")
    assert effective.params["min_duration_s"] == 34  # district + kind beats everything
    assert (effective.setting_id, effective.version) == (row.pk, 1)
    assert duration(a.pk, "bus") == 33


def test_an_override_for_district_a_leaves_district_b_alone(world, bureau_user):
    save(bureau_user, params={"min_duration_s": 40})
    save(bureau_user, district=world.district_a, params={"min_duration_s": 90}, enabled=False)

    snapshot = load_snapshot()
    for kind in ("", "taxi", "hazmat"):
        b = snapshot.resolve("overspeed", world.district_b.pk, kind)
        assert (b.enabled, b.params["min_duration_s"]) == (True, 40)
        a = snapshot.resolve("overspeed", world.district_a.pk, kind)
        assert (a.enabled, a.params["min_duration_s"]) == (False, 90)


def test_retiring_an_override_restores_inheritance(world, bureau_user):
    city = save(bureau_user, params={"min_duration_s": 40})
    override = save(bureau_user, district=world.district_a, params={"min_duration_s": 90})

    with pytest.raises(SettingConflict):
        retire_rule_setting(setting=override, actor=bureau_user, note="x", expected_version=7)
    with pytest.raises(SettingInvalid) as caught:
        retire_rule_setting(setting=city, actor=bureau_user, note="x", expected_version=1)
    assert caught.value.code == "city_wide_not_retirable"

    retired = retire_rule_setting(setting=override, actor=bureau_user, note="恢复全市标准",
                                  expected_version=1)
    assert not retired.current
    assert duration(world.district_a.pk, "taxi") == 40
    event = AuditEvent.objects.get(action=RETIRE_ACTION)
    assert event.detail["note"] == "恢复全市标准"
    assert event.detail["after"] is None

    # Removing it twice is a conflict; a new override later continues the numbering.
    with pytest.raises(SettingConflict):
        retire_rule_setting(setting=override, actor=bureau_user, note="x", expected_version=1)
    again = save(bureau_user, district=world.district_a, params={"min_duration_s": 80})
    assert again.version == 2

    entries = selectors.history(bureau_user, RULES["overspeed"])
    assert [(e.action, e.version) for e in entries][:3] == [("save", 2), ("retire", 1),
                                                            ("save", 1)]


def test_generation_is_bumped_on_commit_only(bureau_user, monkeypatch,
                                              django_capture_on_commit_callbacks):
    calls: list[int] = []
    monkeypatch.setattr(rule_settings, "bump_generation", lambda: calls.append(1))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        save(bureau_user, params={"min_duration_s": 40})
    assert len(callbacks) == 1
    assert calls == []  # not before commit
    for callback in callbacks:
        callback()
    assert calls == [1]

    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            pytest.raises(SettingConflict):
        save(bureau_user, params={"min_duration_s": 50}, expected=None)
    assert callbacks == []


def test_live_settings_picks_up_a_saved_change(world, bureau_user,
                                               django_capture_on_commit_callbacks):
    live = LiveSettings()
    before = live.refresh()
    assert before.resolve("overspeed", world.district_a.pk, "taxi").params["min_duration_s"] == 30

    with django_capture_on_commit_callbacks(execute=True):
        save(bureau_user, district=world.district_a, params={"min_duration_s": 45})
    # Inside the check interval nothing is re-read; a forced refresh is.
    assert live.refresh() is before
    forced = live.refresh(force=True)
    assert forced.resolve("overspeed", world.district_a.pk, "taxi").params["min_duration_s"] == 45

    with django_capture_on_commit_callbacks(execute=True):
        save(bureau_user, district=world.district_a, params={"min_duration_s": 55}, expected=1)
    time.sleep(rule_settings.CHECK_EVERY_S + 0.1)
    later = live.refresh()
    assert later.resolve("overspeed", world.district_a.pk, "taxi").params["min_duration_s"] == 55


def test_only_rule_editors_may_write(world, bureau_user, district_a_user):
    analyst = User.objects.create_user(username="analyst", password="x", level="bureau",
                                       role="bureau_analyst")
    for user in (district_a_user, analyst):
        with pytest.raises(SettingPermissionDenied) as caught:
            save(user, district=world.district_a, params={"min_duration_s": 45})
        assert isinstance(caught.value, PermissionDenied)
        assert caught.value.code == "permission_denied"
    override = save(bureau_user, district=world.district_a, params={"min_duration_s": 45})
    with pytest.raises(SettingPermissionDenied):
        retire_rule_setting(setting=override, actor=district_a_user, note="x", expected_version=1)
    assert RuleSetting.objects.filter(current=True).count() == 1
