"""Split messages: encode_split, Reassembler (order, duplicates, gaps, bounds), 0x8003."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.jt808 import (
    Fragment,
    Header,
    Heartbeat,
    Jt808Error,
    Message,
    Reassembler,
    ResendRequest,
    SetParams,
    UnknownMessage,
    decode_frame,
    encode_split,
    resend_request_frame,
)

PHONE = "013912344323"


def packets(
    body: bytes, *, size: int = 100, serial: int = 500, v2019: bool = False
) -> list[Message]:
    header = Header(0x0900, "1" * 20 if v2019 else PHONE, serial, 1 if v2019 else None)
    return [decode_frame(f) for f in encode_split(header, body, max_packet=size)]


def raw(msg: Message) -> bytes:
    assert isinstance(msg.body, Fragment)
    return msg.body.raw


BODY = bytes(range(256)) * 2  # 512 bytes → 6 packets of up to 100


def test_split_headers() -> None:
    msgs = packets(BODY)
    assert len(msgs) == 6
    assert [m.header.packet_index for m in msgs] == [1, 2, 3, 4, 5, 6]
    assert {m.header.packet_count for m in msgs} == {6}
    assert [m.header.serial for m in msgs] == [500, 501, 502, 503, 504, 505]
    assert b"".join(raw(m) for m in msgs) == BODY


def test_small_body_is_not_split() -> None:
    (frame,) = encode_split(Header(0x0900, PHONE, 1), b"abc")
    assert not decode_frame(frame).header.is_split


def test_in_order() -> None:
    r = Reassembler()
    results = [r.add_message(m, now=0.0) for m in packets(BODY)]
    assert results[:-1] == [None] * 5
    whole = results[-1]
    assert whole is not None and whole.body == UnknownMessage(0x0900, BODY)
    assert (whole.header.serial, whole.header.packet_count) == (500, None)
    assert len(r) == 0


def test_out_of_order_and_duplicates() -> None:
    msgs = packets(BODY)
    order = [3, 0, 5, 0, 2, 3, 1]  # 0 and 3 duplicated
    r = Reassembler()
    for i in order:
        assert r.add(msgs[i].header, raw(msgs[i]), now=1.0) is None
    assert r.add(msgs[4].header, raw(msgs[4]), now=2.0) == BODY


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=3000), st.integers(1, 1023), st.randoms())
def test_any_order_any_size(body: bytes, size: int, rnd: random.Random) -> None:
    msgs = packets(body, size=size)
    if len(msgs) == 1:
        assert msgs[0].body == UnknownMessage(0x0900, body)
        return
    rnd.shuffle(msgs)
    r = Reassembler()
    done = [r.add_message(m, now=0.0) for m in msgs]
    assert done[:-1] == [None] * (len(msgs) - 1)
    assert done[-1] is not None and done[-1].body == UnknownMessage(0x0900, body)


def test_typed_body_is_decoded_after_reassembly() -> None:
    body = SetParams(tuple((i, bytes(20)) for i in range(60)))  # 1 + 60 * 25 bytes
    frames = encode_split(Header(0x8103, PHONE, 9), body, max_packet=512)
    assert len(frames) == 3
    r = Reassembler()
    results = [r.add_message(decode_frame(f), now=0.0) for f in frames]
    assert results[-1] is not None and results[-1].body == body


def test_missing_packets_reported_after_timeout_then_abandoned() -> None:
    msgs = packets(BODY, serial=65534)  # serials wrap: 65534, 65535, 0, 1, ...
    r = Reassembler(timeout=10.0, max_requests=2)
    for i in (1, 2, 4):
        r.add_message(msgs[i], now=100.0)
    assert r.poll(now=105.0) == []  # not yet
    (missing,) = r.poll(now=110.0)
    assert (missing.phone, missing.msg_id, missing.original_serial) == (PHONE, 0x0900, 65534)
    assert (missing.missing, missing.packet_count, missing.abandoned) == ((1, 4, 6), 6, False)
    # the 0x8003 frame for it
    req = decode_frame(resend_request_frame(missing, serial=77))
    assert (req.header.msg_id, req.header.phone, req.header.serial) == (0x8003, PHONE, 77)
    assert req.body == ResendRequest(65534, (1, 4, 6))
    assert r.poll(now=115.0) == []  # deadline pushed back by the request
    assert r.poll(now=120.0)[0].abandoned is False  # second request
    (last,) = r.poll(now=130.0)
    assert last.abandoned is True
    assert len(r) == 0


def test_resend_request_2019_uses_word_count() -> None:
    msgs = packets(BODY, v2019=True)
    r = Reassembler(timeout=1.0)
    r.add_message(msgs[0], now=0.0)
    (missing,) = r.poll(now=1.0)
    frame = resend_request_frame(missing, serial=1)
    req = decode_frame(frame)
    assert req.header.edition == "2019"
    assert req.body == ResendRequest(500, (2, 3, 4, 5, 6))
    assert req.body.encode(True)[2:4] == b"\x00\x05"


def test_new_message_with_same_id_replaces_stale_assembly() -> None:
    r = Reassembler()
    old = packets(BODY, serial=10)
    new = packets(BODY[:300], serial=40)
    r.add_message(old[0], now=0.0)
    for m in new[:-1]:
        assert r.add_message(m, now=1.0) is None
    assert r.add_message(new[-1], now=1.0) is not None
    assert r.replaced == 1


def test_pending_assemblies_are_bounded() -> None:
    r = Reassembler(max_pending=3)
    for n in range(10):
        header = Header(0x0900, f"{n:012d}", 1, packet_count=2, packet_index=1)
        r.add(header, b"x", now=float(n))
    assert len(r) == 3 and r.evicted == 7
    assert sorted(r) == [(f"{n:020d}", 0x0900) for n in (7, 8, 9)]


@pytest.mark.parametrize(("count", "index"), [(2, 0), (2, 3), (5000, 1)])
def test_bad_packet_numbers(count: int, index: int) -> None:
    header = Header(0x0900, PHONE, 1, packet_count=count, packet_index=index)
    with pytest.raises(Jt808Error) as err:
        Reassembler(max_packets=4096).add(header, b"x", now=0.0)
    assert err.value.code == "bad_packet"


def test_message_size_bound() -> None:
    r = Reassembler(max_bytes=150)
    msgs = packets(BODY)
    r.add_message(msgs[0], now=0.0)
    with pytest.raises(Jt808Error) as err:
        r.add_message(msgs[1], now=0.0)
    assert err.value.code == "bad_packet"


def test_unsplit_messages_pass_through() -> None:
    r = Reassembler()
    msg = Message(Header(0x0002, PHONE, 1), Heartbeat())
    assert r.add_message(msg, now=0.0) is msg
    assert r.add(msg.header, b"", now=0.0) == b""
