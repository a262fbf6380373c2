"""Every row of /work/shared/jt808/vectors.tsv decodes to the values its `expected` column names.

Values are written out per row from reading that column; where a row only says "must decode"
(S19, S22) the asserted values were read from the bytes by hand and are noted as such.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from fleet.jt808 import (
    CST,
    Auth,
    BatchLocation,
    DriverIdentity,
    Fragment,
    Heartbeat,
    Jt808Error,
    Location,
    LocationQuery,
    LocationQueryResponse,
    Message,
    MessageReader,
    PlatformResponse,
    PolygonArea,
    Reassembler,
    Register,
    RegisterResponse,
    SetCircleAreas,
    TerminalResponse,
    TextMessage,
    UnknownMessage,
    decode_frame,
    encode_message,
)

from .frames import FRAMES

TSV = Path("/work/shared/jt808/vectors.tsv")
REJECTED = {"S21": "bad_length"}


def wire(rid: str) -> bytes:
    return bytes.fromhex(FRAMES[rid])


def decode(rid: str) -> Message:
    return decode_frame(wire(rid))


def t(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=CST)


def body_of(rid: str, cls: type) -> object:
    msg = decode(rid)
    assert isinstance(msg.body, cls), msg.body
    return msg.body


@pytest.mark.skipif(not TSV.exists(), reason="shared vectors file not mounted")
def test_frames_copy_matches_tsv() -> None:
    rows = [line.split("\t") for line in TSV.read_text(encoding="utf-8").splitlines()[1:] if line]
    assert {r[0]: r[2] for r in rows} == FRAMES


@pytest.mark.parametrize("rid", sorted(set(FRAMES) - set(REJECTED)))
def test_reencode_gives_same_bytes(rid: str) -> None:
    msg = decode(rid)
    assert encode_message(msg.header, msg.body).hex() == wire(rid).hex()


@pytest.mark.parametrize("rid", sorted(REJECTED))
def test_rejected_rows(rid: str) -> None:
    with pytest.raises(Jt808Error) as err:
        decode(rid)
    assert err.value.code == REJECTED[rid]


def test_stream_of_all_rows_keeps_going_after_rejects() -> None:
    rids = list(FRAMES)
    stream = b"".join(wire(r) for r in rids)
    results = MessageReader().feed(stream)
    assert len(results) == len(rids)
    for rid, item in zip(rids, results, strict=True):
        if rid in REJECTED:
            assert isinstance(item, Jt808Error) and item.code == REJECTED[rid]
        else:
            assert isinstance(item, Message), (rid, item)


def test_s1_heartbeat() -> None:
    msg = decode("S1")
    assert (msg.header.msg_id, msg.header.edition) == (0x0002, "2013")
    assert (msg.header.phone, msg.header.serial) == ("012345678900", 10)
    assert isinstance(msg.body, Heartbeat)


def test_s2_escaped_check_code() -> None:
    assert FRAMES["S2"].endswith("7D027E")
    msg = decode("S2")
    assert (msg.header.msg_id, msg.header.edition) == (0x0002, "2013")
    assert (msg.header.phone, msg.header.serial) == ("040021679287", 43)
    assert isinstance(msg.body, Heartbeat)


def test_s3_terminal_response() -> None:
    msg = decode("S3")
    assert (msg.header.msg_id, msg.header.serial) == (0x0001, 1203)
    assert msg.body == TerminalResponse(reply_serial=1000, reply_id=0x0002, result=0)


def test_s4_platform_response() -> None:
    msg = decode("S4")
    assert (msg.header.msg_id, msg.header.serial) == (0x8001, 10)
    assert msg.body == PlatformResponse(reply_serial=100, reply_id=0x0200, result=0)


def _assert_s5_values(body: Register, model: str = "smallchi123") -> None:
    assert (body.province, body.city) == (40, 50)
    assert (body.maker, body.model, body.terminal_id) == ("1234", model, "CHI123")
    assert (body.plate_colour, body.plate) == (1, "粤A12345")


def test_s5_register_2013() -> None:
    msg = decode("S5")
    assert (msg.header.msg_id, msg.header.edition) == (0x0100, "2013")
    assert (msg.header.phone, msg.header.serial) == ("000123456789", 10)
    assert isinstance(msg.body, Register) and msg.body.layout == "2013"
    _assert_s5_values(msg.body)


def test_s6_register_2019() -> None:
    msg = decode("S6")
    assert (msg.header.edition, msg.header.protocol_version) == ("2019", 1)
    assert (msg.header.phone, msg.header.serial) == ("00000000000123456789", 10)
    assert isinstance(msg.body, Register) and msg.body.layout == "2019"
    _assert_s5_values(msg.body)


def test_s7_register_2019_zero_padded() -> None:
    msg = decode("S7")
    assert msg.header.edition == "2019"
    assert (msg.header.phone, msg.header.serial) == ("00000000022222222222", 1)
    body = msg.body
    assert isinstance(body, Register)
    assert (body.plate_colour, body.plate) == (2, "粤A12346")
    # '0'-padded identifiers: kept exact, matched through the *_key properties.
    assert (body.maker_key, body.model_key, body.terminal_id_key) == ("Koike002",) * 3


def test_s8_register_2011_layout() -> None:
    msg = decode("S8")
    assert (msg.header.phone, msg.header.serial) == ("000123456789", 10)
    assert isinstance(msg.body, Register) and msg.body.layout == "2011"
    _assert_s5_values(msg.body, model="tk12345")


def test_s9_auth_2013() -> None:
    msg = decode("S9")
    assert (msg.header.msg_id, msg.header.edition) == (0x0102, "2013")
    assert (msg.header.phone, msg.header.serial) == ("012345678900", 12345)
    assert msg.body == Auth(code="456121111")


def test_s10_register_response_with_code() -> None:
    assert body_of("S10", RegisterResponse) == RegisterResponse(100, 0, "123456")


def test_s11_register_response_without_code() -> None:
    assert body_of("S11", RegisterResponse) == RegisterResponse(100, 4, "")


def _assert_s12_location(loc: Location) -> None:
    assert (loc.alarm, loc.status) == (1, 2)
    assert loc.latitude == pytest.approx(12.222222)
    assert loc.longitude == pytest.approx(132.444444)
    assert (loc.altitude, loc.speed_raw, loc.direction) == (40, 60, 0)
    assert loc.speed_kmh == pytest.approx(6.0)
    assert loc.time == t(2018, 7, 15, 10, 10, 10)
    assert loc.time.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
    extras = loc.extras()
    assert (extras.mileage, extras.fuel) == (100, 55)


def test_s12_location() -> None:
    msg = decode("S12")
    assert (msg.header.msg_id, msg.header.phone, msg.header.serial) == (
        0x0200,
        "112233445566",
        8888,
    )
    assert isinstance(msg.body, Location)
    _assert_s12_location(msg.body)
    assert [i for i, _ in msg.body.items] == [0x01, 0x02]


def test_s13_location_every_standard_item() -> None:
    loc = body_of("S13", Location)
    assert isinstance(loc, Location)
    _assert_s12_location(loc)
    x = loc.extras()
    assert (x.mileage, x.fuel, x.tacho_speed, x.alarm_event_id) == (100, 55, 56, 1)
    assert x.overspeed is not None and (x.overspeed.kind, x.overspeed.area_id) == (1, 1)
    assert x.area_event is not None
    assert (x.area_event.kind, x.area_event.area_id, x.area_event.leaving) == (1, 1, True)
    assert x.route_time is not None
    assert (x.route_time.section_id, x.route_time.seconds, x.route_time.too_long) == (2, 34, True)
    assert (x.vehicle_signals, x.io_status, x.analog) == (23, 244, 0x000000F2)
    assert (x.signal_strength, x.satellites) == (2, 5)
    assert x.unparsed == ()


def test_s14_batch() -> None:
    msg = decode("S14")
    assert (msg.header.msg_id, msg.header.serial) == (0x0704, 8888)
    body = msg.body
    assert isinstance(body, BatchLocation)
    assert (len(body.locations), body.kind, body.backfill) == (2, 0, False)
    assert body.locations[0] == body_of("S12", Location)
    second = body.locations[1]
    assert (second.alarm, second.status) == (2, 1)
    assert (second.latitude, second.longitude) == pytest.approx((13.333333, 132.555555))
    assert (second.altitude, second.speed_raw, second.direction) == (41, 54, 120)
    assert second.time == t(2018, 7, 15, 10, 10, 30)
    assert (second.extras().mileage, second.extras().fuel) == (96, 66)
    # status 1: ACC on but no GNSS fix -> a report, not a point
    assert (second.positioned, second.position) == (False, None)


def test_s15_location_query_response() -> None:
    body = body_of("S15", LocationQueryResponse)
    assert isinstance(body, LocationQueryResponse)
    assert body.reply_serial == 12345
    assert body.location == body_of("S12", Location)


def test_s16_text_2013() -> None:
    msg = decode("S16")
    assert msg.header.edition == "2013"
    assert msg.body == TextMessage(flag=5, text="smallchi 518", text_type=None)


def test_s17_text_2019() -> None:
    msg = decode("S17")
    assert msg.header.edition == "2019"
    assert msg.body == TextMessage(flag=5, text="smallchi 518", text_type=1)


def test_s18_s24_split_packets_join() -> None:
    first, second = decode("S24"), decode("S18")
    assert (first.header.msg_id, first.header.serial) == (0x1205, 235)
    assert (first.header.packet_count, first.header.packet_index) == (2, 1)
    assert (second.header.msg_id, second.header.serial) == (0x1205, 236)
    assert (second.header.packet_count, second.header.packet_index) == (2, 2)
    assert isinstance(first.body, Fragment) and len(first.body.raw) == 930
    assert isinstance(second.body, Fragment) and len(second.body.raw) == 56
    reasm = Reassembler()
    assert reasm.add_message(second, now=0.0) is None  # arrives out of order
    whole = reasm.add_message(first, now=1.0)
    assert whole is not None
    assert isinstance(whole.body, UnknownMessage)  # 0x1205 (JT/T 1078) has no typed codec
    assert len(whole.body.raw) == 986
    assert whole.body.raw == first.body.raw + second.body.raw
    assert (whole.header.serial, whole.header.is_split) == (235, False)
    assert len(reasm) == 0


def test_s19_driver_identity_real_device_2019() -> None:
    msg = decode("S19")
    assert msg.header.edition == "2019"
    body = msg.body
    assert isinstance(body, DriverIdentity)
    # The row only asks for a clean decode; these values were read from the bytes.
    assert (body.status, body.card_in, body.read_result) == (1, True, 0)
    assert body.time == t(2026, 6, 17, 17, 10, 0)
    assert body.name == "测试员甲"
    assert body.certificate == "A88888************"
    assert body.issuer == "2026040214088"
    assert body.valid_until == date(2015, 10, 20)  # long expired: still valid card data
    assert body.id_card == "46030088888888888888"


def test_s20_driver_identity_2013_header_2019_body() -> None:
    msg = decode("S20")
    assert msg.header.edition == "2013"
    assert FRAMES["S20"].endswith("7D027E")  # check code 0x7E, escaped
    body = msg.body
    assert isinstance(body, DriverIdentity)
    assert (body.status, body.read_result) == (1, 0)
    assert body.time == t(2026, 4, 9, 17, 27, 39)
    assert (body.name, body.certificate, body.issuer) == ("你好", "416756199006054349", "")
    assert body.valid_until == date(2034, 4, 9)
    assert body.id_card == "416756199006054349"


def test_s21_length_mismatch_is_rejected_with_header() -> None:
    with pytest.raises(Jt808Error) as err:
        decode("S21")
    assert err.value.code == "bad_length"
    header = err.value.header
    assert header is not None  # still enough to answer 0x8001 result 2
    assert (header.msg_id, header.phone, header.serial) == (0x0702, "016067308681", 109)


def test_s22_bit14_on_2013_header_location() -> None:
    msg = decode("S22")
    assert (msg.header.edition, msg.header.forced_2013) == ("2013", True)
    assert (msg.header.phone, msg.header.serial) == ("010030000681", 2318)
    loc = msg.body
    assert isinstance(loc, Location)
    # Read from the bytes (the row asks for clean handling only).
    assert loc.time == t(2021, 6, 25, 15, 57, 39)
    assert (loc.positioned, loc.acc_on) == (True, True)
    assert (loc.lat_raw, loc.lon_raw) == (40670063, 122452300)
    assert (loc.extras().signal_strength, loc.extras().satellites) == (0x15, 0x12)


def test_s23_bit14_on_2013_header_auth() -> None:
    msg = decode("S23")
    assert (msg.header.msg_id, msg.header.forced_2013) == (0x0102, True)
    assert msg.body == Auth(code="J10030000681")


def test_x1_register_2019() -> None:
    msg = decode("X1")
    assert (msg.header.edition, msg.header.phone) == ("2019", "00000000013912344329")
    body = msg.body
    assert isinstance(body, Register)
    assert (body.province, body.city) == (11, 2)
    assert body.maker == "id123456789"
    assert body.model == "type12345678901234567890123456"
    assert body.terminal_id == "id1234567890123456789012345678"
    assert (body.plate_colour, body.plate) == (1, "甘J-123459")


def test_x2_auth_2019() -> None:
    msg = decode("X2")
    assert msg.header.edition == "2019"
    assert msg.body == Auth("这是鉴权码111", imei="111111111111111", software_version="1.2.3010")
    assert msg.body.code.raw == "这是鉴权码111".encode("gbk")  # type: ignore[attr-defined]
    assert len(msg.body.code.raw) == 13  # type: ignore[attr-defined]


def test_x3_auth_2013_gbk() -> None:
    msg = decode("X3")
    assert (msg.header.edition, msg.header.phone) == ("2013", "013912344323")
    assert msg.body == Auth("这是鉴权码111")


def test_x4_batch_2019_unpositioned() -> None:
    msg = decode("X4")
    assert msg.header.edition == "2019"
    body = msg.body
    assert isinstance(body, BatchLocation)
    assert (len(body.locations), body.kind) == (2, 0)
    a, b = body.locations
    assert (a.alarm, a.status) == (1, 1)
    assert (a.latitude, a.longitude) == pytest.approx((31.000562, 121.451372))
    assert (a.altitude, a.speed_raw, a.direction) == (666, 33, 89)
    assert a.time == t(2024, 10, 29, 21, 39, 3)
    assert (b.latitude, b.longitude) == pytest.approx((31.000563, 121.451373))
    assert (b.altitude, b.speed_raw, b.direction) == (777, 67, 90)
    assert (a.positioned, a.position, b.position) == (False, None, None)


def test_x5_driver_identity_2019() -> None:
    msg = decode("X5")
    assert msg.header.edition == "2019"
    assert msg.body == DriverIdentity(
        status=1,
        time=t(2024, 10, 29, 21, 39, 3),
        read_result=0,
        name="张无忌",
        certificate="11335577992244668800",
        issuer="没有名字",
        valid_until=date(3024, 10, 29),
        id_card="11223344556677889900",
    )


def test_x6_driver_identity_2013() -> None:
    msg = decode("X6")
    assert msg.header.edition == "2013"
    assert msg.body == DriverIdentity(
        status=1,
        time=t(2024, 10, 29, 21, 39, 3),
        read_result=0,
        name="张无忌",
        certificate="11335577992244668800",
        issuer="没有名字",
        valid_until=date(3024, 10, 29),
        id_card=None,
    )


def test_x7_location_south_items_out_of_order() -> None:
    msg = decode("X7")
    assert msg.header.edition == "2019"
    loc = msg.body
    assert isinstance(loc, Location)
    assert (loc.alarm, loc.status) == (111, 22)
    assert (loc.positioned, loc.status_flags.SOUTH in loc.status_flags) == (True, True)
    assert "out_of_service" in loc.status_names
    assert loc.latitude == pytest.approx(-31.234567)
    assert loc.longitude == pytest.approx(121.987654)
    assert loc.position == pytest.approx((-31.234567, 121.987654))
    assert (loc.altitude, loc.speed_raw, loc.direction) == (123, 66, 3)
    assert loc.time == t(2025, 1, 29, 22, 33, 44)
    assert [i for i, _ in loc.items] == [0x02, 0x01]  # wire order kept
    assert (loc.extras().mileage, loc.extras().fuel) == (12, 100)


def test_x8_location_with_su_adas_item() -> None:
    msg = decode("X8")
    loc = msg.body
    assert isinstance(loc, Location)
    assert (loc.alarm, loc.status) == (0x7B, 0xDE)
    assert (loc.lat_raw, loc.lon_raw) == (31000562, 121451372)
    assert (loc.altitude, loc.speed_raw) == (666, 78)
    assert loc.time == t(2014, 10, 21, 19, 51, 9)
    x = loc.extras()
    assert (x.mileage, x.fuel, x.tacho_speed, x.alarm_event_id) == (111, 222, 666, 333)
    assert (x.vehicle_signals, x.signal_strength, x.satellites) == (777, 33, 55)
    assert len(x.adas) == 1 and x.dsm == ()
    adas = x.adas[0]
    assert (adas.layout, adas.alarm_id, adas.flag, adas.type_code) == ("su", 222, 223, 111)
    assert (adas.level, adas.altitude, adas.terminal_id) == (3, 1234, "1234567")
    assert (adas.sequence, adas.attachment_count) == (1, 1)
    assert adas.type_name == "adas_0x6f"  # 111 is not in the Su table: stable fallback name


def test_x9_platform_response_2019() -> None:
    msg = decode("X9")
    assert msg.header.edition == "2019"
    assert msg.body == PlatformResponse(reply_serial=111, reply_id=0x0200, result=0)


def test_x10_register_response_2019() -> None:
    msg = decode("X10")
    assert msg.header.edition == "2019"
    assert msg.body == RegisterResponse(111, 0, "ok..ok..ok")


def test_x11_location_query() -> None:
    msg = decode("X11")
    assert (msg.header.msg_id, msg.header.edition) == (0x8201, "2019")
    assert isinstance(msg.body, LocationQuery)


def test_x12_text_2019_gbk() -> None:
    msg = decode("X12")
    assert msg.body == TextMessage(flag=1, text="HelloWorld 汉字 GBK 编码", text_type=1)


def test_x13_circle_areas() -> None:
    msg = decode("X13")
    assert msg.header.edition == "2013"
    body = msg.body
    assert isinstance(body, SetCircleAreas)
    assert (body.action, len(body.areas)) == (1, 2)
    a, b = body.areas
    assert (a.area_id, a.attributes, a.radius) == (111, 16387, 666)
    assert (a.latitude, a.longitude) == pytest.approx((31.000562, 121.451372))
    assert (a.start, a.end) == (t(2024, 10, 26, 18, 39, 56), t(2024, 10, 26, 20, 39, 56))
    assert (a.max_speed, a.overspeed_duration) == (111, 10)
    assert (b.area_id, b.attributes, b.radius) == (222, 2, 666)
    assert (b.lat_raw, b.lon_raw) == (a.lat_raw, a.lon_raw)
    assert (b.start, b.end, b.max_speed, b.overspeed_duration) == (None, None, 111, 10)


def test_x14_polygon_area() -> None:
    msg = decode("X14")
    body = msg.body
    assert isinstance(body, PolygonArea)
    assert (body.area_id, body.attributes) == (111, 16387)
    assert (body.start, body.end) == (t(2024, 10, 26, 18, 39, 56), t(2024, 10, 26, 20, 39, 56))
    assert (body.max_speed, body.overspeed_duration) == (111, 10)
    expected = [(31.000562, 121.451372), (31.000563, 121.451373), (31.000564, 121.451374)]
    assert len(body.points) == 3
    for point, want in zip(body.points, expected, strict=True):
        assert point == pytest.approx(want)


def test_r2_escapes_in_header_and_body() -> None:
    msg = decode("R2")
    assert msg.header.edition == "2013"
    assert (msg.header.phone, msg.header.serial) == ("123456789012", 0x007E)
    loc = msg.body
    assert isinstance(loc, Location)
    assert (loc.alarm, loc.status) == (1, 2)
    assert (loc.latitude, loc.longitude) == pytest.approx((12.222222, 132.444444))
    assert (loc.altitude, loc.speed_raw) == (40, 60)
    assert loc.time == t(2018, 10, 15, 10, 10, 10)
    assert (loc.extras().mileage, loc.extras().fuel) == (100, 0x7D)
