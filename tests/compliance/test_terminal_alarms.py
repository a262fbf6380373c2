import datetime as dt

from compliance.engine import terminal_alarms as ta
from tests.compliance.scenario import at

SETTINGS = ta.AlarmSettings()


def seconds(n: int) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def test_start_and_end_flags_make_one_episode():
    state = ta.TerminalAlarms()
    opened = ta.signal(state, "dsm_phone", "start", at(20, 8), SETTINGS)
    assert opened is not None and opened.start == at(20, 8)
    assert ta.signal(state, "dsm_phone", "report", at(20, 8, 0, 20), SETTINGS) is None
    ta.signal(state, "dsm_phone", "end", at(20, 8, 0, 40), SETTINGS)
    [episode] = state.closed
    assert episode.end == at(20, 8, 0, 40) and episode.measured["reports"] == 2


def test_without_end_it_closes_60_s_after_the_last_report():
    state = ta.TerminalAlarms()
    ta.signal(state, "dsm_smoking", "start", at(20, 8), SETTINGS)
    ta.signal(state, "dsm_smoking", "report", at(20, 8, 0, 30), SETTINGS)
    ta.expire(state, at(20, 8, 1, 29), SETTINGS)
    assert state.closed == []
    ta.expire(state, at(20, 8, 1, 30), SETTINGS)
    [episode] = state.closed
    assert episode.end == at(20, 8, 1, 30)


def test_restart_within_60_s_is_the_same_episode_and_after_is_a_new_one():
    state = ta.TerminalAlarms()
    first = ta.signal(state, "dsm_fatigue", "start", at(20, 8), SETTINGS)
    ta.signal(state, "dsm_fatigue", "end", at(20, 8, 0, 10), SETTINGS)
    assert ta.signal(state, "dsm_fatigue", "start", at(20, 8, 1, 9), SETTINGS) is None
    ta.signal(state, "dsm_fatigue", "end", at(20, 8, 1, 20), SETTINGS)
    assert state.closed == [first] and first.end == at(20, 8, 1, 20)
    second = ta.signal(state, "dsm_fatigue", "start", at(20, 8, 2, 20), SETTINGS)
    assert second is not None and second is not first


def test_rules_are_independent():
    state = ta.TerminalAlarms()
    assert ta.signal(state, "dsm_phone", "start", at(20, 8), SETTINGS)
    assert ta.signal(state, "dsm_smoking", "start", at(20, 8, 0, 5), SETTINGS)
    assert set(state.open) == {"dsm_phone", "dsm_smoking"}


def test_device_fault_bits():
    assert ta.bit_signals(1 << 5, 0) == [("device_fault", "report")]
    assert ta.bit_signals(0, 1 << 5) == [("device_fault", "end")]
    assert ta.bit_signals(1 << 4, 1 << 5) == [("device_fault", "report")]
    assert ta.bit_signals(1 << 1, 0) == []  # overspeed bit is not a device fault


def test_every_mapped_alarm_name_exists_in_a_codec_table():
    from fleet.jt808 import ALARM_CODE_TABLES

    names = set()
    for table in ALARM_CODE_TABLES.values():
        names |= set(table.dsm.values()) | set(table.adas.values())
    assert set(ta.SAFETY_RULES) <= names
