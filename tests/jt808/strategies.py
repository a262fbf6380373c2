"""Hypothesis strategies for typed message bodies, per header edition."""

from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

from fleet.jt808 import (
    CST,
    Auth,
    BatchLocation,
    CircleArea,
    DriverIdentity,
    Heartbeat,
    Location,
    LocationQuery,
    LocationQueryResponse,
    Logout,
    ParamsQuery,
    ParamsResponse,
    PlatformResponse,
    PolygonArea,
    Register,
    RegisterResponse,
    ResendRequest,
    SetCircleAreas,
    SetParams,
    TerminalResponse,
    TextMessage,
    UnknownMessage,
    Waybill,
)
from fleet.jt808.registry import known_ids

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)

# GBK-encodable characters; no space or NUL at the ends since decoding trims that padding.
_CHARS = "ABCXYZabcxyz0129-._:/粤京沪甘甲测试张无忌汉字编码"
_INNER = _CHARS + " "


@st.composite
def gbk_text(draw: st.DrawFn, max_bytes: int = 40) -> str:
    core = draw(st.text(_INNER, max_size=max_bytes).map(str.strip))
    while len(core.encode("gbk")) > max_bytes:
        core = core[:-1].strip()
    return core


times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)
).map(lambda d: d.replace(microsecond=0, tzinfo=CST))

items = st.lists(st.tuples(u8, st.binary(max_size=40)), max_size=5).map(tuple)


@st.composite
def tails(draw: st.DrawFn) -> bytes:
    """Bytes after the last item that cannot form an item (kept verbatim)."""
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return b""
    if kind == 1:
        return draw(st.binary(min_size=1, max_size=1))
    declared = draw(st.integers(1, 0xFF))
    return bytes((draw(u8), declared)) + draw(st.binary(max_size=declared - 1))


locations = st.builds(
    Location,
    alarm=u32,
    status=u32,
    lat_raw=u32,
    lon_raw=u32,
    altitude=u16,
    speed_raw=u16,
    direction=u16,
    time=times,
    items=items,
    tail=tails(),
)


@st.composite
def registers(draw: st.DrawFn, v2019: bool) -> Register:
    layout = "2019" if v2019 else draw(st.sampled_from(["2011", "2013"]))
    maker_w, model_w, id_w = {"2011": (5, 8, 7), "2013": (5, 20, 7), "2019": (11, 30, 30)}[layout]
    return Register(
        province=draw(u16),
        city=draw(u16),
        maker=draw(gbk_text(maker_w)),
        model=draw(gbk_text(model_w)),
        terminal_id=draw(gbk_text(id_w)),
        plate_colour=draw(st.sampled_from([0, 1, 2, 3, 4, 5, 9, 91, 92, 93, 94])),
        plate=draw(gbk_text(20)),
        layout=layout,  # type: ignore[arg-type]
    )


@st.composite
def auths(draw: st.DrawFn, v2019: bool) -> Auth:
    if not v2019:
        return Auth(draw(gbk_text(60)))
    return Auth(draw(gbk_text(60)), draw(gbk_text(15)), draw(gbk_text(20)))


@st.composite
def driver_identities(draw: st.DrawFn, v2019: bool) -> DriverIdentity:
    status = draw(st.sampled_from([1, 1, 1, 2, 3]))
    time = draw(times)
    if status != 1:
        return DriverIdentity(status, time)
    read_result = draw(st.sampled_from([0, 0, 1, 2]))
    if read_result != 0:
        return DriverIdentity(status, time, read_result)
    return DriverIdentity(
        status,
        time,
        read_result,
        draw(gbk_text(30)),
        draw(gbk_text(20)),
        draw(gbk_text(40)),
        draw(st.none() | st.dates()),
        draw(gbk_text(20)) if v2019 else draw(st.none() | gbk_text(20)),
    )


@st.composite
def circle_areas(draw: st.DrawFn, v2019: bool) -> CircleArea:
    attributes = draw(u16)
    by_time, speed = attributes & 1, attributes & 2
    return CircleArea(
        draw(u32),
        attributes,
        draw(u32),
        draw(u32),
        draw(u32),
        draw(times) if by_time else None,
        draw(times) if by_time else None,
        draw(u16) if speed else None,
        draw(u8) if speed else None,
        draw(u16) if speed and v2019 else None,
        draw(gbk_text(30)) if v2019 else None,
    )


@st.composite
def polygon_areas(draw: st.DrawFn, v2019: bool) -> PolygonArea:
    attributes = draw(u16)
    by_time, speed = attributes & 1, attributes & 2
    return PolygonArea(
        draw(u32),
        attributes,
        tuple(draw(st.lists(st.tuples(u32, u32), max_size=8))),
        draw(times) if by_time else None,
        draw(times) if by_time else None,
        draw(u16) if speed else None,
        draw(u8) if speed else None,
        draw(u16) if speed and v2019 else None,
        draw(gbk_text(30)) if v2019 else None,
    )


params = st.lists(st.tuples(u32, st.binary(max_size=20)), max_size=6).map(tuple)


def bodies(v2019: bool) -> dict[str, st.SearchStrategy]:
    """One strategy per message type, for the given header edition."""
    return {
        "0x0001": st.builds(TerminalResponse, u16, u16, u8),
        "0x8001": st.builds(PlatformResponse, u16, u16, u8),
        "0x0002": st.just(Heartbeat()),
        "0x0003": st.just(Logout()),
        "0x8201": st.just(LocationQuery()),
        "0x8104": st.just(ParamsQuery()),
        "0x0100": registers(v2019),
        "0x8100": st.builds(RegisterResponse, u16, u8, gbk_text(40)),
        "0x0102": auths(v2019),
        "0x0200": locations,
        "0x0201": st.builds(LocationQueryResponse, u16, locations),
        "0x0704": st.builds(BatchLocation, u8, st.lists(locations, max_size=3).map(tuple)),
        "0x0702": driver_identities(v2019),
        "0x0701": st.builds(Waybill, st.binary(max_size=300)),
        "0x8300": st.builds(TextMessage, u8, gbk_text(100), u8 if v2019 else st.none()),
        "0x8600": st.builds(
            SetCircleAreas, u8, st.lists(circle_areas(v2019), max_size=3).map(tuple)
        ),
        "0x8604": polygon_areas(v2019),
        "0x8003": st.builds(ResendRequest, u16, st.lists(u16, max_size=20).map(tuple)),
        "0x8103": st.builds(SetParams, params),
        "0x0104": st.builds(ParamsResponse, u16, params),
        "unknown": st.builds(
            UnknownMessage,
            u16.filter(lambda i: i not in known_ids()),
            st.binary(max_size=200),
        ),
    }


MESSAGE_NAMES = sorted(bodies(False))
