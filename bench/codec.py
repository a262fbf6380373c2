"""JT/T 808 codec throughput on one core.

Run from the project root: ``python bench/codec.py [seconds-per-measure]``.

Measures, for a typical 0x0200 report (mileage, fuel, tachograph speed, signal strength,
satellites and a 47-byte Su DSM item):
  * decode: full path, unescape + check code + header + location base + item split
  * decode + extras(): the same plus the parsed views of every item (DSM alarm included)
  * stream: the same frames fed back to back through MessageReader
  * baseline: a bare loop that only finds the 0x7E delimiters, computes the XOR check code and
    unpacks the 28-byte base, i.e. the least any Python decoder must do
  * encode: Location → complete escaped frame
"""

from __future__ import annotations

import struct
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fleet.jt808 import (
    CST,
    Header,
    Location,
    MessageReader,
    StatusFlag,
    checksum,
    decode_frame,
    encode_message,
)

BASE = struct.Struct(">IIIIHHH")


def dsm_item() -> bytes:
    value = struct.pack(
        ">IBBB5sBHII", 1234, 1, 0x02, 1, b"\x00" * 5, 62, 8, 41_123_456, 122_071_234
    )
    value += bytes.fromhex("240501083015") + b"\x00\x03"
    value += b"T000001" + bytes.fromhex("240501083015") + b"\x00\x01\x00"
    return bytes((0x65, len(value))) + value


def sample() -> tuple[Header, Location]:
    items = (
        (0x01, (123_456).to_bytes(4, "big")),
        (0x02, (455).to_bytes(2, "big")),
        (0x03, (621).to_bytes(2, "big")),
        (0x30, b"\x17"),
        (0x31, b"\x0c"),
    )
    loc = Location.at(
        latitude=41.123456,
        longitude=122.071234,
        time=datetime(2024, 5, 1, 8, 30, 15, tzinfo=CST),
        speed_kmh=62.1,
        altitude=8,
        direction=275,
        status=StatusFlag.ACC_ON | StatusFlag.POSITIONED | StatusFlag.GPS | StatusFlag.BEIDOU,
        items=items,
    )
    dsm = dsm_item()
    loc.items = (*loc.items, (dsm[0], dsm[2:]))
    return Header(0x0200, "013912344323", 0x7D7E), loc  # serial forces escaping


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Best of three runs of `seconds` each, in calls per second."""
    best = 0.0
    batch = 1000
    for _ in range(3):
        calls = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(batch):
                fn()
            calls += batch
        best = max(best, calls / elapsed)
    return best


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    header, loc = sample()
    frame = encode_message(header, loc)
    msg = decode_frame(frame)
    assert isinstance(msg.body, Location) and msg.body == loc
    assert encode_message(msg.header, msg.body) == frame
    assert msg.body.extras().dsm[0].type_name == "dsm_phone"

    def decode() -> object:
        return decode_frame(frame)

    def decode_extras() -> object:
        body = decode_frame(frame).body
        assert isinstance(body, Location)
        return body.extras()

    def baseline() -> object:
        # find both delimiters, undo escaping only if needed, XOR check, unpack the base
        end = frame.find(b"\x7e", 1)
        content = frame[1:end]
        if b"\x7d" in content:
            content = content.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")
        ok = checksum(content[:-1]) == content[-1]
        return ok, BASE.unpack_from(content, 12)

    def encode() -> object:
        return encode_message(header, loc)

    per_chunk = 100
    stream = frame * per_chunk
    reader = MessageReader()

    def stream_decode() -> object:
        return reader.feed(stream)

    print(f"frame: {len(frame)} bytes on the wire, body {len(loc.encode())} bytes, 6 items")
    print(f"python {sys.version.split()[0]}, one core, best of 3 x {seconds:g} s\n")
    r_decode = rate(decode, seconds)
    r_extras = rate(decode_extras, seconds)
    r_stream = rate(stream_decode, seconds / 10) * per_chunk
    r_base = rate(baseline, seconds)
    r_encode = rate(encode, seconds)
    rows = [
        ("decode_frame (full path)", r_decode),
        ("decode_frame + extras()", r_extras),
        ("MessageReader stream", r_stream),
        ("baseline: 7E scan + XOR + base unpack", r_base),
        ("encode_message", r_encode),
    ]
    for label, value in rows:
        print(f"{label:<40} {value:>12,.0f} /s  {1e6 / value:7.2f} µs")
    print(
        f"\nbaseline / decode ratio: {r_base / r_decode:.1f}x "
        f"(decode reaches {100 * r_decode / r_base:.0f}% of the physical baseline)"
    )


if __name__ == "__main__":
    main()
