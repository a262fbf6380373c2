"""encode → decode round trips for every message type under both header editions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.jt808 import Header, decode_frame, encode_message
from fleet.jt808.registry import body_msg_id

from .strategies import MESSAGE_NAMES, bodies

phones_2013 = st.text("0123456789", min_size=12, max_size=12)
phones_2019 = st.text("0123456789", min_size=20, max_size=20)


@pytest.mark.parametrize("v2019", [False, True], ids=["2013", "2019"])
@pytest.mark.parametrize("name", MESSAGE_NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_encode_decode_roundtrip(name: str, v2019: bool, data: st.DataObject) -> None:
    body = data.draw(bodies(v2019)[name], label="body")
    msg_id = body_msg_id(body)
    assert msg_id is not None
    header = Header(
        msg_id=msg_id,
        phone=data.draw(phones_2019 if v2019 else phones_2013, label="phone"),
        serial=data.draw(st.integers(0, 0xFFFF), label="serial"),
        protocol_version=data.draw(st.integers(0, 255), label="version") if v2019 else None,
    )
    frame = encode_message(header, body)
    msg = decode_frame(frame)
    assert msg.header == header
    assert msg.body == body
    # and the decoded form re-encodes to the very same bytes
    assert encode_message(msg.header, msg.body) == frame
