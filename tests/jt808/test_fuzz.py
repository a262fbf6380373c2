"""Untrusted input: random and mutated bytes raise only Jt808Error, fast, and never stall the
stream."""

from __future__ import annotations

import os
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.jt808 import (
    BatchLocation,
    FrameReader,
    Header,
    Jt808Error,
    Location,
    LocationQueryResponse,
    Message,
    MessageReader,
    decode_frame,
    decode_payload,
    encode_message,
)
from fleet.jt808.framing import unwrap, wrap
from fleet.jt808.header import encode_header
from fleet.jt808.registry import known_ids

from .frames import FRAMES

FRAME_LIST = [bytes.fromhex(h) for k, h in sorted(FRAMES.items()) if k != "S21"]
# frames that fit the 512-byte limit the stream tests use (S24 is 946 bytes)
SMALL_FRAMES = [f for f in FRAME_LIST if len(f) <= 512]
# JT808_FUZZ_EXAMPLES raises the effort for a long local run; 300 keeps the suite fast.
FUZZ = settings(max_examples=int(os.environ.get("JT808_FUZZ_EXAMPLES", "300")), deadline=None)
TIME_LIMIT = 2.0  # seconds per example (typical: well under 1 ms); generous for loaded CI hosts


def exercise(msg: Message) -> None:
    """Touch the lazily parsed views too: they must not raise either."""
    body = msg.body
    locations: list[Location] = []
    if isinstance(body, Location):
        locations = [body]
    elif isinstance(body, LocationQueryResponse):
        locations = [body.location]
    elif isinstance(body, BatchLocation):
        locations = list(body.locations)
    for loc in locations:
        loc.extras()
        _ = (loc.alarm_names, loc.status_names, loc.load_state, loc.position, loc.speed_kmh)
        _ = (loc.alarms, loc.status_flags, loc.encode())


def decode_only_jt808_errors(frame: bytes) -> None:
    start = time.perf_counter()
    try:
        msg = decode_frame(frame)
    except Jt808Error as exc:
        assert exc.code and exc.reason
    else:
        exercise(msg)
        # whatever decodes, however odd, re-encodes to the bytes it came from
        if frame[:1] == frame[-1:] == b"\x7e" and len(frame) > 2:
            assert encode_message(msg.header, msg.body) == frame
    assert time.perf_counter() - start < TIME_LIMIT


def feed_only_jt808_errors(data: bytes, chunk: int) -> list[Message | Jt808Error]:
    reader = MessageReader(max_frame=512)
    out: list[Message | Jt808Error] = []
    start = time.perf_counter()
    for i in range(0, len(data), chunk):
        out += reader.feed(data[i : i + chunk])
        assert reader.frames.buffered <= 512
    assert time.perf_counter() - start < TIME_LIMIT
    for item in out:
        assert isinstance(item, Message | Jt808Error)
        if isinstance(item, Message):
            exercise(item)
    return out


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(st.sampled_from(FRAME_LIST)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 3))
        pos = draw(st.integers(0, max(len(frame) - 1, 0)))
        if op == 0 and frame:
            frame[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:
            del frame[pos:]
        elif op == 2:
            frame[pos:pos] = draw(st.sampled_from([b"\x7e", b"\x7d", b"\x7d\x7e", b"\x7d\x03"]))
        else:
            frame[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(frame)


@st.composite
def resealed(draw: st.DrawFn) -> bytes:
    """A real frame whose header+body is mutated, then given a correct check code, so the body
    decoders (not just the check code) see the damage."""
    payload = bytearray(unwrap(draw(st.sampled_from(FRAME_LIST))[1:-1]))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(payload) - 1))
        if draw(st.booleans()):
            payload[pos] = draw(st.integers(0, 255))
        else:
            del payload[pos : pos + draw(st.integers(1, 4))]
            if not payload:
                break
    return wrap(bytes(payload))


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_as_frame(data: bytes) -> None:
    decode_only_jt808_errors(data)
    decode_only_jt808_errors(b"\x7e" + data + b"\x7e")


@FUZZ
@given(st.binary(max_size=2000), st.integers(1, 300))
def test_random_stream(data: bytes, chunk: int) -> None:
    feed_only_jt808_errors(data, chunk)


@FUZZ
@given(mutated())
def test_mutated_frames(frame: bytes) -> None:
    decode_only_jt808_errors(frame)
    feed_only_jt808_errors(frame, 7)


@FUZZ
@given(resealed())
def test_resealed_mutations_reach_body_decoders(frame: bytes) -> None:
    decode_only_jt808_errors(frame)


@FUZZ
@given(st.sampled_from(sorted(known_ids())), st.booleans(), st.binary(max_size=300))
def test_random_body_for_every_known_id(msg_id: int, v2019: bool, body: bytes) -> None:
    header = Header(msg_id, "1" * (20 if v2019 else 12), 1, 1 if v2019 else None)
    start = time.perf_counter()
    payload = encode_header(header, len(body)) + body
    try:
        msg = decode_payload(payload)
    except Jt808Error as exc:
        assert exc.header is not None  # the header was fine, so it is reported
    else:
        exercise(msg)
        assert encode_message(msg.header, msg.body) == wrap(payload)
    assert time.perf_counter() - start < TIME_LIMIT


@FUZZ
@given(st.binary(max_size=1500), st.integers(1, 64), st.sampled_from(SMALL_FRAMES))
def test_good_frame_after_garbage_is_recovered(garbage: bytes, chunk: int, good: bytes) -> None:
    out = feed_only_jt808_errors(garbage + good, chunk)
    assert out, "the good frame must produce a result"
    last = out[-1]
    assert isinstance(last, Message)
    assert last == decode_frame(good)


@FUZZ
@given(st.lists(st.sampled_from(FRAME_LIST), min_size=1, max_size=6), st.data())
def test_frames_with_garbage_between_all_recovered(
    frames: list[bytes], data: st.DataObject
) -> None:
    stream = b""
    for frame in frames:
        stream += data.draw(st.binary(max_size=40)) + frame
    reader = FrameReader()
    got = iter(i for i in reader.feed(stream) if isinstance(i, bytes))
    # every real frame comes out, in order (garbage may happen to form a valid frame itself,
    # e.g. 13 zero bytes have a correct check code, so compare as a subsequence)
    for frame in frames:
        assert unwrap(frame[1:-1]) in got
