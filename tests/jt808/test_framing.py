"""Escaping, check code and stream framing (FrameReader / MessageReader)."""

from __future__ import annotations

import functools
import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.jt808 import (
    ChecksumError,
    EscapeError,
    FrameReader,
    Jt808Error,
    Message,
    MessageReader,
    checksum,
    decode_frame,
    escape,
    unescape,
)
from fleet.jt808.framing import unwrap, wrap

from .frames import FRAMES

GOOD = [bytes.fromhex(FRAMES[r]) for r in ("S1", "S2", "S12", "R2", "X8", "S20", "X12")]


def payloads(items: list[bytes | Jt808Error]) -> list[bytes]:
    return [i for i in items if isinstance(i, bytes)]


def expected_payload(frame: bytes) -> bytes:
    return unwrap(frame[1:-1])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_escape_roundtrip_and_no_delimiter(data: bytes) -> None:
    escaped = escape(data)
    assert b"\x7e" not in escaped
    assert unescape(escaped) == data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1100))
def test_checksum_is_xor_of_all_bytes(data: bytes) -> None:
    assert checksum(data) == functools.reduce(operator.xor, data, 0)


def test_escape_rules() -> None:
    assert escape(b"\x30\x7e\x08\x7d\x55") == b"\x30\x7d\x02\x08\x7d\x01\x55"
    assert unescape(b"\x7d\x01\x02") == b"\x7d\x02"  # 7D01 then a plain 02


@pytest.mark.parametrize(
    "bad", [b"\x01\x7d\x03\x02", b"\x01\x02\x7d", b"\x01\x7e\x02", b"\x7d\x7d\x01"]
)
def test_bad_escapes(bad: bytes) -> None:
    with pytest.raises(EscapeError) as err:
        unescape(bad)
    assert err.value.code == "bad_escape"


def test_bad_checksum_reports_code_and_header() -> None:
    frame = bytearray(GOOD[2])
    frame[-2] ^= 0x01  # corrupt the check code
    with pytest.raises(ChecksumError) as err:
        decode_frame(bytes(frame))
    assert err.value.code == "bad_checksum"
    assert err.value.header is not None and err.value.header.serial == 8888


def test_wrap_unwrap() -> None:
    payload = bytes(range(0x70, 0x80))  # contains 7D and 7E
    frame = wrap(payload)
    assert frame[0] == frame[-1] == 0x7E
    assert unwrap(frame[1:-1]) == payload


def test_frames_back_to_back() -> None:
    reader = FrameReader()
    got = reader.feed(b"".join(GOOD))
    assert got == [expected_payload(f) for f in GOOD]
    assert (reader.frames, reader.errors, reader.buffered) == (len(GOOD), 0, 0)


def test_split_at_every_byte_boundary() -> None:
    stream = b"".join(GOOD)
    want = [expected_payload(f) for f in GOOD]
    for cut in range(len(stream) + 1):
        reader = FrameReader()
        got = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
        assert got == want, cut


def test_byte_at_a_time() -> None:
    reader = FrameReader()
    got: list[bytes | Jt808Error] = []
    for i in range(len(b"".join(GOOD))):
        got += reader.feed(b"".join(GOOD)[i : i + 1])
    assert got == [expected_payload(f) for f in GOOD]


def test_garbage_between_frames_is_reported_and_frames_recovered() -> None:
    a, b, c = GOOD[0], GOOD[2], GOOD[4]
    stream = b"\x01\x02junk" + a + b"noise without flags" + b + b"\x7e\x7e\x7e" + b"\x7d\x7e" + c
    got = MessageReader().feed(stream)
    messages = [m for m in got if isinstance(m, Message)]
    errors = [e for e in got if isinstance(e, Jt808Error)]
    assert [m.header.serial for m in messages] == [10, 8888, 0]
    assert {e.code for e in errors} <= {"garbage", "truncated", "bad_escape", "bad_checksum"}
    assert errors[0].code == "garbage"  # bytes before the first delimiter
    assert len(errors) >= 2


def test_bad_frame_does_not_lose_the_next_one() -> None:
    corrupt = bytearray(GOOD[3])
    corrupt[10] ^= 0xFF
    got = MessageReader().feed(bytes(corrupt) + GOOD[0])
    assert isinstance(got[0], Jt808Error)
    assert isinstance(got[1], Message) and got[1].header.msg_id == 0x0002


def test_oversize_run_is_discarded_and_reader_resyncs() -> None:
    reader = FrameReader(max_frame=200)
    got = reader.feed(b"\x7e" + b"\x11" * 150)
    got += reader.feed(b"\x22" * 150)  # now past the limit without a delimiter
    assert [e.code for e in got if isinstance(e, Jt808Error)] == ["oversize"]
    assert reader.buffered == 0
    got = reader.feed(b"\x33" * 500 + GOOD[0] + GOOD[1])
    # the opening 7E of GOOD[0] ends the oversize run, so GOOD[0] itself is recovered
    assert got == [expected_payload(GOOD[0]), expected_payload(GOOD[1])]
    assert reader.buffered == 0


def test_buffer_stays_bounded_on_endless_garbage() -> None:
    reader = FrameReader(max_frame=100)
    errors = 0
    for _ in range(100):
        errors += len(reader.feed(b"\x55" * 97))
        assert reader.buffered <= 100
    assert errors > 0  # garbage is reported, not silently accumulated
    assert payloads(reader.feed(b"\x7e" + GOOD[0])) == [expected_payload(GOOD[0])]


def test_oversize_complete_segment_in_one_chunk() -> None:
    reader = FrameReader(max_frame=50)
    got = reader.feed(b"\x7e" + b"\x01" * 60 + GOOD[0])
    assert isinstance(got[0], Jt808Error) and got[0].code == "oversize"
    assert payloads(got) == [expected_payload(GOOD[0])]


def test_max_frame_must_hold_a_frame() -> None:
    with pytest.raises(ValueError):
        FrameReader(max_frame=5)
