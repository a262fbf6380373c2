"""Message-level rules beyond the vectors: text fields, edition-specific layouts, strictness."""

from __future__ import annotations

import pickle
from datetime import date, datetime
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.jt808 import (
    CST,
    Auth,
    Body,
    CircleArea,
    DriverIdentity,
    EncodeError,
    Header,
    Jt808Error,
    PlatformResponse,
    PolygonArea,
    Register,
    SetCircleAreas,
    TextMessage,
    UnknownMessage,
    Waybill,
    WireText,
    decode_frame,
    encode_message,
    general_response,
    reply_header,
    strip_padding,
)
from fleet.jt808.framing import wrap
from fleet.jt808.header import encode_header

B = TypeVar("B", bound=Body)

H13 = Header(0, "013912344323", 3)
H19 = Header(0, "00000000013912344329", 3, protocol_version=1)
T = datetime(2024, 10, 29, 21, 39, 3, tzinfo=CST)


def frame(msg_id: int, body: bytes, v2019: bool = False) -> bytes:
    base = H19 if v2019 else H13
    header = Header(msg_id, base.phone, base.serial, base.protocol_version)
    return wrap(encode_header(header, len(body)) + body)


def roundtrip(msg_id: int, body: B, v2019: bool = False) -> B:
    base = H19 if v2019 else H13
    header = Header(msg_id, base.phone, base.serial, base.protocol_version)
    out = decode_frame(encode_message(header, body)).body
    assert isinstance(out, type(body))
    return out


def test_undecodable_gbk_keeps_exact_bytes() -> None:
    body = (
        b"\x00\x01\x00\x02"
        + b"\xff\xffAB\x00"  # maker: not GBK
        + b"model".ljust(20, b"\x00")
        + b"\x00ID12\x20\x20"  # NUL-left-padded, space-right-padded
        + b"\x01"
        + "粤A12345".encode("gbk")
    )
    msg = decode_frame(frame(0x0100, body))
    reg = msg.body
    assert isinstance(reg, Register)
    assert "\ufffd" in reg.maker and reg.maker.endswith("AB")
    assert reg.terminal_id == "ID12"
    assert isinstance(reg.terminal_id, WireText) and reg.terminal_id.raw == b"\x00ID12  "
    assert reg.layout == "2013"
    assert encode_message(msg.header, reg) == frame(0x0100, body)


def test_wiretext_behaves_as_str_and_pickles() -> None:
    text = WireText("abc", b"abc\x00\x00")
    assert text == "abc" and hash(text) == hash("abc") and text.upper() == "ABC"
    back = pickle.loads(pickle.dumps(text))
    assert back == "abc" and back.raw == b"abc\x00\x00"


def test_strip_padding() -> None:
    assert strip_padding("000Koike002") == "Koike002"
    assert strip_padding("  CHI123\x00") == "CHI123"


def test_text_must_be_gbk_and_fit() -> None:
    with pytest.raises(EncodeError):
        roundtrip(0x8300, TextMessage(0, "emoji 😀"))
    with pytest.raises(EncodeError):
        roundtrip(0x0100, Register(1, 1, "toolongmaker", "m", "i", 1, "p", layout="2013"))


def test_driver_card_out_and_read_failure() -> None:
    assert roundtrip(0x0702, DriverIdentity(2, T)) == DriverIdentity(2, T)
    assert roundtrip(0x0702, DriverIdentity(1, T, 3)) == DriverIdentity(1, T, 3)
    with pytest.raises(EncodeError):
        roundtrip(0x0702, DriverIdentity(1, T))


def test_driver_card_zero_valid_until() -> None:
    card = DriverIdentity(1, T, 0, "张三", "C1", "交通局", None, None)
    assert roundtrip(0x0702, card) == card


def test_driver_card_rejects_trailing_bytes_and_binary_time() -> None:
    good = DriverIdentity(1, T, 0, "a", "b", "c", date(2030, 1, 1)).encode(False)
    with pytest.raises(Jt808Error) as err:
        decode_frame(frame(0x0702, good + b"\x00\x00\x00"))
    assert err.value.code == "bad_body"
    with pytest.raises(Jt808Error) as err:
        decode_frame(frame(0x0702, b"\x02" + bytes((24, 10, 29, 21, 39, 3))))
    assert err.value.code == "bad_bcd"


def test_waybill_text_and_bytes() -> None:
    assert roundtrip(0x0701, Waybill("运单 A-1".encode("gbk"))).text == "运单 A-1"
    assert Waybill(b"\xff\xff\xff").text is None
    with pytest.raises(Jt808Error) as err:
        decode_frame(frame(0x0701, b"\x00\x00\x00\x09abc"))
    assert err.value.code == "truncated"


def test_auth_2013_body_under_2019_header_is_tolerated() -> None:
    msg = decode_frame(frame(0x0102, b"AUTHCODE", v2019=True))
    assert msg.body == Auth("AUTHCODE")
    assert encode_message(msg.header, msg.body) == frame(0x0102, b"AUTHCODE", v2019=True)


def test_text_message_layout_follows_header_edition() -> None:
    assert roundtrip(0x8300, TextMessage(8, "hi", text_type=2)) == TextMessage(8, "hi", None)
    assert roundtrip(0x8300, TextMessage(8, "hi"), v2019=True) == TextMessage(8, "hi", 1)
    msg = TextMessage(0x0D, "x")
    assert (msg.urgent, msg.display, msg.tts) == (True, True, True)


def test_areas_2019_fields() -> None:
    area = CircleArea(1, 0b11, 41_000_000, 122_000_000, 500, T, T, 60, 10, 40, "学校")
    back = roundtrip(0x8600, SetCircleAreas(0, (area,)), v2019=True)
    assert back == SetCircleAreas(0, (area,))
    # for a 2013 terminal the 2019-only fields are left out
    (short,) = roundtrip(0x8600, SetCircleAreas(0, (area,))).areas
    assert (short.night_max_speed, short.name, short.max_speed) == (None, None, 60)
    # a 2019 terminal without a separate night limit gets the day limit
    plain = CircleArea(1, 0b10, 1, 1, 5, max_speed=60, overspeed_duration=5)
    (back_plain,) = roundtrip(0x8600, SetCircleAreas(0, (plain,)), v2019=True).areas
    assert (back_plain.night_max_speed, back_plain.name) == (60, "")


def test_area_attributes_require_their_fields() -> None:
    with pytest.raises(EncodeError):
        roundtrip(0x8604, PolygonArea(1, 0b01, ((1, 1),)))
    with pytest.raises(EncodeError):
        roundtrip(0x8604, PolygonArea(1, 0b10, ((1, 1),)))


def test_area_signs_from_attributes() -> None:
    area = CircleArea(1, (1 << 6) | (1 << 7), 33_000_000, 70_000_000, 5)
    assert (area.latitude, area.longitude) == (-33.0, -70.0)


def test_unknown_and_encrypted_bodies_are_kept() -> None:
    raw = bytes(range(40))
    msg = decode_frame(frame(0x0F01, raw))
    assert msg.body == UnknownMessage(0x0F01, raw)
    assert encode_message(msg.header, msg.body) == frame(0x0F01, raw)
    encrypted = Header(0x0200, "013912344323", 1, encryption=1)
    enc = decode_frame(wrap(encode_header(encrypted, 5) + b"\x01\x02\x03\x04\x05"))
    assert enc.body == UnknownMessage(0x0200, b"\x01\x02\x03\x04\x05")


def test_empty_bodies_are_strict() -> None:
    with pytest.raises(Jt808Error) as err:
        decode_frame(frame(0x0002, b"\x00"))
    assert err.value.code == "bad_body"


def test_body_and_header_ids_must_agree() -> None:
    with pytest.raises(EncodeError):
        encode_message(Header(0x0001, "1", 1), PlatformResponse(1, 2, 0))


def test_general_response_mirrors_the_request() -> None:
    request = Header(0x0200, "010030000681", 2318, forced_2013=True)
    reply = decode_frame(general_response(request, serial=9, result=2))
    assert (reply.header.msg_id, reply.header.phone, reply.header.forced_2013) == (
        0x8001,
        "010030000681",
        True,
    )
    assert reply.body == PlatformResponse(2318, 0x0200, 2)


@given(
    request=st.builds(
        Header,
        msg_id=st.integers(0, 0xFFFF),
        phone=st.text("0123456789", min_size=1, max_size=12),
        serial=st.integers(0, 0xFFFF),
        protocol_version=st.none() | st.integers(0, 0xFF),
        forced_2013=st.booleans(),
    ).filter(lambda h: not (h.forced_2013 and h.protocol_version is not None)),
    serial=st.integers(0, 0xFFFF),
    result=st.integers(0, 4),
)
def test_general_response_is_the_generic_encoding(request: Header, serial: int,
                                                  result: int) -> None:
    """The cached fast path gives the very bytes of the generic encoder (escapes included)."""
    expected = encode_message(reply_header(request, 0x8001, serial),
                              PlatformResponse(request.serial, request.msg_id, result))
    assert general_response(request, serial, result) == expected


def test_general_response_out_of_range_is_an_encode_error() -> None:
    with pytest.raises(EncodeError):
        general_response(Header(0x0200, "1", 1), serial=70000)


def test_out_of_range_integers_are_encode_errors() -> None:
    with pytest.raises(EncodeError):
        encode_message(Header(0x8001, "1", 1), PlatformResponse(70000, 1, 0))
