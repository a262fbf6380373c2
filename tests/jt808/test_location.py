"""0x0200 details: flags, positioned/unpositioned, time, additional items, active safety."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from fleet.jt808 import (
    CST,
    SU_TABLE,
    YUE_TABLE,
    AlarmCodeTable,
    AlarmFlag,
    Header,
    Jt808Error,
    Location,
    StatusFlag,
    decode_frame,
    encode_message,
)

T0 = datetime(2024, 5, 1, 8, 30, 0, tzinfo=CST)
BCD_T0 = bytes.fromhex("240501083000")


def base(alarm: int = 0, status: int = 0b10, time: bytes = BCD_T0) -> bytes:
    return struct.pack(">IIIIHHH", alarm, status, 41_120_000, 122_070_000, 5, 300, 90) + time


def frame_for(body: bytes) -> bytes:
    header = Header(0x0200, "013912344323", 1)
    return encode_message(header, body)


def decode_location(body: bytes) -> Location:
    loc = decode_frame(frame_for(body)).body
    assert isinstance(loc, Location)
    return loc


def safety_item(
    kind_id: int, code: int, *, yue: bool, detail: bytes = b"\x03\x00\x00\x00\x00"
) -> bytes:
    value = struct.pack(">IBBB5sBHII", 7, 1, code, 2, detail, 60, 12, 41_120_000, 122_070_000)
    value += BCD_T0 + b"\x00\x01"
    terminal = b"TERM001".ljust(30 if yue else 7, b"\x00")
    value += terminal + BCD_T0 + b"\x00\x02" + (b"\x00\x00" if yue else b"\x00")
    assert len(value) == (71 if yue else 47)
    return bytes((kind_id, len(value))) + value


def test_base_fields_and_flags() -> None:
    status = StatusFlag.ACC_ON | StatusFlag.POSITIONED | StatusFlag.LOAD_BIT0 | StatusFlag.LOAD_BIT1
    loc = decode_location(base(alarm=AlarmFlag.SOS | AlarmFlag.OVERSPEED, status=status))
    assert (loc.acc_on, loc.positioned, loc.load_state, loc.loaded) == (True, True, "full", True)
    assert loc.alarm_names == ("sos", "overspeed")
    assert AlarmFlag.SOS in loc.alarms
    assert loc.position == pytest.approx((41.12, 122.07))
    assert (loc.speed_kmh, loc.direction, loc.altitude) == (30.0, 90, 5)
    assert loc.time == T0


@pytest.mark.parametrize(
    ("bits", "state"), [(0b00, "empty"), (0b01, "half"), (0b10, "reserved"), (0b11, "full")]
)
def test_load_state(bits: int, state: str) -> None:
    assert decode_location(base(status=bits << 8)).load_state == state


def test_unpositioned_fix_is_not_a_point() -> None:
    loc = decode_location(base(status=StatusFlag.ACC_ON))
    assert (loc.positioned, loc.position) == (False, None)
    assert loc.latitude == pytest.approx(41.12)  # what the device sent, for diagnostics


def test_south_west_signs_and_builder() -> None:
    loc = Location.at(latitude=-33.86, longitude=-70.65, time=T0, speed_kmh=42.5)
    assert StatusFlag.SOUTH in loc.status_flags and StatusFlag.WEST in loc.status_flags
    back = decode_location(loc.encode())
    assert back.position == pytest.approx((-33.86, -70.65))
    assert back.speed_raw == 425


def test_time_is_converted_to_utc_plus_8_on_encode() -> None:
    loc = Location.at(latitude=1, longitude=1, time=datetime(2024, 5, 1, 0, 30, tzinfo=UTC))
    assert decode_location(loc.encode()).time == T0


@pytest.mark.parametrize(
    "time",
    [
        bytes((24, 5, 1, 8, 30, 0)),  # binary instead of BCD
        bytes.fromhex("241301083000"),  # month 13
        bytes.fromhex("000000000000"),  # zeros: no calendar time
    ],
)
def test_bad_time_is_rejected(time: bytes) -> None:
    with pytest.raises(Jt808Error) as err:
        decode_location(base(time=time))
    assert err.value.code == "bad_bcd"
    assert err.value.header is not None and err.value.header.msg_id == 0x0200


def test_truncated_base() -> None:
    with pytest.raises(Jt808Error) as err:
        decode_location(base()[:20])
    assert err.value.code == "truncated"


def test_items_kept_raw_with_duplicates_odd_lengths_and_tail() -> None:
    items = (
        b"\x02\x02\x00\x10"  # fuel before mileage
        b"\x01\x04\x00\x00\x00\x64"
        b"\x01\x04\x00\x00\x00\x65"  # duplicate: the first one wins in extras()
        b"\x30\x02\x00\x11"  # signal strength with an odd length
        b"\xe1\x03abc"  # vendor item
        b"\x31"  # truncated item header
    )
    body = base() + items
    loc = decode_location(body)
    assert loc.items == (
        (0x02, b"\x00\x10"),
        (0x01, b"\x00\x00\x00\x64"),
        (0x01, b"\x00\x00\x00\x65"),
        (0x30, b"\x00\x11"),
        (0xE1, b"abc"),
    )
    assert loc.tail == b"\x31"
    x = loc.extras()
    assert (x.mileage, x.mileage_km, x.fuel, x.fuel_l) == (100, 10.0, 16, 1.6)
    assert x.signal_strength is None
    assert x.unparsed == ((0x30, b"\x00\x11"), (0xE1, b"abc"))
    assert loc.item(0x01) == b"\x00\x00\x00\x64" and loc.item(0x99) is None
    assert loc.encode() == body  # wire order, duplicates and tail preserved


def test_item_longer_than_body_stays_in_tail() -> None:
    body = base() + b"\x01\x04\x00\x00\x00\x64" + b"\x02\x09\x00\x01"
    loc = decode_location(body)
    assert loc.items == ((0x01, b"\x00\x00\x00\x64"),)
    assert loc.tail == b"\x02\x09\x00\x01"
    assert loc.encode() == body


def test_video_items() -> None:
    items = (
        b"\x14\x04\x00\x00\x00\x22"
        b"\x15\x04\x00\x00\x00\x01"
        b"\x16\x04\x00\x00\x00\x05"  # channels 1 and 3 occluded
        b"\x17\x02\x00\x01"
        b"\x18\x03\x00\x05\x07"  # fatigue + smoking, fatigue level 7
    )
    x = decode_location(base() + items).extras()
    assert (x.video_alarm, x.video_lost_channels, x.video_occluded_channels) == (0x22, (1,), (1, 3))
    assert x.storage_fault == 1
    b = x.driving_behaviour
    assert b is not None and (b.fatigue, b.phone, b.smoking, b.fatigue_level) == (
        True,
        False,
        True,
        7,
    )
    two_bytes = decode_location(base() + b"\x18\x02\x00\x02").extras().driving_behaviour
    assert two_bytes is not None and (two_bytes.phone, two_bytes.fatigue_level) == (True, None)


def test_analog_and_overspeed_without_area() -> None:
    x = decode_location(base() + b"\x2b\x04\x00\x02\x00\x01" + b"\x11\x01\x00").extras()
    assert (x.analog_ad0, x.analog_ad1) == (1, 2)
    assert x.overspeed is not None and (x.overspeed.kind, x.overspeed.area_id) == (0, None)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (0x01, "dsm_fatigue"),
        (0x02, "dsm_phone"),
        (0x03, "dsm_smoking"),
        (0x04, "dsm_distraction"),
        (0x05, "dsm_driver_abnormal"),
        (0x06, "dsm_0x06"),
        (0x0A, "dsm_0x0a"),
    ],
)
def test_su_dsm_47_bytes(code: int, name: str) -> None:
    x = decode_location(base() + safety_item(0x65, code, yue=False)).extras()
    (dsm,) = x.dsm
    assert (dsm.kind, dsm.layout, dsm.type_code, dsm.type_name) == ("dsm", "su", code, name)
    assert (dsm.alarm_id, dsm.started, dsm.level, dsm.fatigue_level, dsm.speed) == (
        7,
        True,
        2,
        3,
        60,
    )
    assert (dsm.terminal_id, dsm.time, dsm.alarm_time) == ("TERM001", T0, T0)
    assert (dsm.sequence, dsm.attachment_count, dsm.vehicle_status) == (0, 2, 1)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (0x01, "dsm_fatigue"),
        (0x06, "camera_blocked"),
        (0x0A, "dsm_seatbelt"),
        (0x0B, "dsm_ir_sunglasses"),
        (0x0C, "dsm_hands_off_wheel"),
    ],
)
def test_yue_dsm_71_bytes(code: int, name: str) -> None:
    x = decode_location(base() + safety_item(0x65, code, yue=True)).extras()
    (dsm,) = x.dsm
    assert (dsm.layout, dsm.type_name, dsm.terminal_id, dsm.reserved) == ("yue", name, "TERM001", 0)


def test_adas_su_and_yue() -> None:
    detail = bytes((50, 12, 1, 1, 80))
    items = safety_item(0x64, 0x01, yue=False, detail=detail) + safety_item(0x64, 0x06, yue=True)
    x = decode_location(base() + items).extras()
    su, yue = x.adas
    assert (su.type_name, su.front_speed, su.front_distance, su.deviation_type) == (
        "adas_forward_collision",
        50,
        12,
        1,
    )
    assert (su.road_sign_type, su.road_sign_value) == (1, 80)
    assert (yue.layout, yue.type_name) == ("yue", "adas_road_sign_overlimit")


def test_alarm_code_table_is_configurable() -> None:
    # a province that renumbers: 0x21 = phone call, 0x22 = seatbelt
    other = AlarmCodeTable("other", adas={}, dsm={0x21: "dsm_phone", 0x22: "dsm_seatbelt"})
    loc = decode_location(base() + safety_item(0x65, 0x22, yue=False))
    assert loc.extras(other).dsm[0].type_name == "dsm_seatbelt"
    assert loc.extras(YUE_TABLE).dsm[0].type_name == "dsm_0x22"
    assert SU_TABLE.extended("su2", dsm={0x22: "x"}).name("dsm", 0x22) == "x"
    assert SU_TABLE.name("dsm", 0x22) == "dsm_0x22"  # the base table is unchanged


def test_safety_item_with_other_length_is_kept_unparsed() -> None:
    x = decode_location(base() + b"\x65\x05abcde").extras()
    assert x.dsm == () and x.unparsed == ((0x65, b"abcde"),)


def test_safety_item_with_bad_time_still_parsed() -> None:
    item = bytearray(safety_item(0x65, 0x01, yue=False))
    item[2 + 23 : 2 + 29] = b"\xff" * 6  # the alarm time
    (dsm,) = decode_location(base() + bytes(item)).extras().dsm
    assert dsm.time is None and dsm.type_name == "dsm_fatigue"
