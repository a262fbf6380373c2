"""Header layouts (2013 / 2019 / split / bit-14 quirk), length checks and phone numbers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.jt808 import (
    EncodeError,
    Header,
    Heartbeat,
    Jt808Error,
    decode_frame,
    encode_message,
    normalize_phone,
    phone_key,
)
from fleet.jt808.framing import wrap
from fleet.jt808.header import encode_header, parse_header

headers_2013 = st.builds(
    Header,
    msg_id=st.integers(0, 0xFFFF),
    phone=st.text("0123456789", min_size=12, max_size=12),
    serial=st.integers(0, 0xFFFF),
    protocol_version=st.none(),
    encryption=st.integers(0, 7),
    forced_2013=st.booleans(),
    reserved_bit=st.booleans(),
)
headers_2019 = st.builds(
    Header,
    msg_id=st.integers(0, 0xFFFF),
    phone=st.text("0123456789", min_size=20, max_size=20),
    serial=st.integers(0, 0xFFFF),
    protocol_version=st.integers(0, 255),
    encryption=st.integers(0, 7),
    reserved_bit=st.booleans(),
)


@st.composite
def any_header(draw: st.DrawFn) -> Header:
    header = draw(st.one_of(headers_2013, headers_2019))
    if draw(st.booleans()):
        count = draw(st.integers(1, 0xFFFF))
        header.packet_count = count
        header.packet_index = draw(st.integers(0, 0xFFFF))
    return header


@settings(max_examples=300, deadline=None)
@given(any_header(), st.binary(max_size=1023))
def test_header_roundtrip(header: Header, body: bytes) -> None:
    payload = encode_header(header, len(body)) + body
    parsed, offset = parse_header(payload)
    assert parsed == header
    assert payload[offset:] == body


def test_sizes() -> None:
    h13 = Header(0x0002, "013912344323", 7)
    h19 = Header(0x0002, "00000000013912344329", 7, protocol_version=1)
    assert len(encode_header(h13, 0)) == 12
    assert len(encode_header(h19, 0)) == 17
    h13.packet_count, h13.packet_index = 2, 1
    h19.packet_count, h19.packet_index = 2, 1
    assert len(encode_header(h13, 0)) == 16
    assert len(encode_header(h19, 0)) == 21


def test_bit14_with_2013_layout_roundtrips() -> None:
    header = Header(0x0002, "010030000681", 5, forced_2013=True)
    frame = encode_message(header, Heartbeat())
    assert frame[3] & 0x40  # bit 14 set on the wire
    msg = decode_frame(frame)
    assert (msg.header.forced_2013, msg.header.edition, msg.header.phone) == (
        True,
        "2013",
        "010030000681",
    )
    assert encode_message(msg.header, msg.body) == frame


def test_bit14_fitting_neither_layout_is_bad_length() -> None:
    payload = encode_header(Header(0x0002, "1" * 20, 1, protocol_version=1), 0) + b"\x00\x00"
    with pytest.raises(Jt808Error) as err:
        parse_header(payload)
    assert err.value.code == "bad_length"


@pytest.mark.parametrize("extra", [-1, 1, 5])
def test_declared_length_must_match(extra: int) -> None:
    payload = encode_header(Header(0x0200, "013912344323", 1), 10) + bytes(10 + extra)
    with pytest.raises(Jt808Error) as err:
        decode_frame(wrap(payload))
    assert err.value.code == "bad_length"
    assert err.value.header is not None and err.value.header.msg_id == 0x0200


def test_too_short_is_truncated() -> None:
    with pytest.raises(Jt808Error) as err:
        parse_header(b"\x00\x02\x00\x00\x01")
    assert err.value.code == "truncated"


def test_phone_must_be_bcd() -> None:
    payload = bytes.fromhex("00020000") + bytes.fromhex("0139123443AF") + b"\x00\x01"
    with pytest.raises(Jt808Error) as err:
        parse_header(payload)
    assert err.value.code == "bad_bcd"


def test_phone_normalisation() -> None:
    assert normalize_phone("13912344329", 12) == "013912344329"
    assert normalize_phone("013912344329", 20) == "00000000013912344329"
    assert normalize_phone("00000000013912344329", 12) == "013912344329"
    assert phone_key("13912344329") == phone_key("013912344329")
    assert phone_key("013912344329") == phone_key("00000000013912344329")
    # leading zeros are significant width-wise only: different numbers stay different
    assert phone_key("013912344329") != phone_key("139123443290")
    for bad in ("1391234432x", "", "١٢٣", "1" * 13):
        with pytest.raises(EncodeError):
            normalize_phone(bad, 12)


def test_header_phone_is_padded_on_encode() -> None:
    msg = decode_frame(encode_message(Header(0x0002, "13912344329", 1), Heartbeat()))
    assert msg.header.phone == "013912344329"
    assert msg.header.phone_key == "00000000013912344329"


@pytest.mark.parametrize(
    "header",
    [
        Header(0x10000, "1", 0),
        Header(0x0002, "1", 0x10000),
        Header(0x0002, "1", 0, encryption=8),
        Header(0x0002, "1", 0, protocol_version=1, forced_2013=True),
        Header(0x0002, "1", 0, packet_count=2),
    ],
)
def test_header_encode_validation(header: Header) -> None:
    with pytest.raises(EncodeError):
        encode_header(header, 0)


def test_body_too_long_for_one_frame() -> None:
    with pytest.raises(EncodeError):
        encode_message(Header(0x0900, "1", 0), b"\x00" * 1024)
