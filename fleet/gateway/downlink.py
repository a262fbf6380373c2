"""Platform → terminal commands: their bodies built from plain data, and their outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet.jt808 import (
    Body,
    CircleArea,
    LocationQuery,
    PolygonArea,
    SetCircleAreas,
    TextMessage,
)

# Protocol constants (JT/T 808 tables), kept here so only the codec's public API is imported.
TEXT_URGENT, TEXT_DISPLAY, TEXT_TTS = 0x01, 0x04, 0x08
AREA_BY_TIME, AREA_SPEED_LIMIT, AREA_SOUTH, AREA_WEST = 0x01, 0x02, 0x40, 0x80
KINDS = ("text", "circle_areas", "polygon_area", "location_query")
MAX_TEXT_BYTES = 1024


class DownlinkError(Exception):
    outcome = "error"


class TerminalOffline(DownlinkError):
    outcome = "offline"


class DownlinkTimeout(DownlinkError):
    outcome = "timeout"


class DownlinkBusy(DownlinkError):
    outcome = "busy"


@dataclass(frozen=True, slots=True)
class DownlinkResponse:
    """The terminal's answer to a command: `reply_id` 0x0001 (general response, `result` 0 ok,
    1 fail, 2 bad message, 3 unsupported), 0x0201 for a location query, 0x0104 for a parameter
    query; `body` is the decoded answer."""

    msg_id: int
    serial: int
    reply_id: int
    result: int
    body: Any


@dataclass(eq=False, slots=True)
class _Pending:
    msg_id: int
    future: asyncio.Future[DownlinkResponse]
    serials: set[int]


class PendingCommands:
    """Commands sent on one connection that await the terminal's answer, by frame serial.

    A split command (several packets, several serials) is answered once every packet was
    acknowledged, or at the first packet the terminal refused.
    """

    __slots__ = ("_by_serial", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._by_serial: dict[int, _Pending] = {}

    def __len__(self) -> int:
        return len({id(p) for p in self._by_serial.values()})

    def add(self, msg_id: int, serials: Iterable[int]) -> asyncio.Future[DownlinkResponse]:
        if len(self) >= self.limit:
            raise DownlinkBusy("too many commands awaiting an answer")
        future: asyncio.Future[DownlinkResponse] = asyncio.get_running_loop().create_future()
        entry = _Pending(msg_id, future, set(serials))
        for serial in entry.serials:
            self._by_serial[serial] = entry
        return future

    def forget(self, future: asyncio.Future[DownlinkResponse]) -> None:
        """Stop waiting (timeout or answered): late answers are then ignored."""
        for serial, entry in list(self._by_serial.items()):
            if entry.future is future:
                del self._by_serial[serial]

    def resolve(self, serial: int, reply_id: int, result: int, body: object) -> None:
        entry = self._by_serial.pop(serial, None)
        if entry is None or entry.future.done():
            return
        entry.serials.discard(serial)
        if result != 0 or not entry.serials:
            entry.future.set_result(DownlinkResponse(entry.msg_id, serial, reply_id, result, body))

    def fail_all(self, exc: DownlinkError) -> None:
        for entry in list(self._by_serial.values()):
            if not entry.future.done():
                entry.future.set_exception(exc)
                entry.future.exception()  # retrieved: no "never retrieved" warning if unawaited
        self._by_serial.clear()


def _micro(value: Any, what: str) -> int:
    degrees = float(value)
    if not -180.0 <= degrees <= 180.0:
        raise ValueError(f"{what} {degrees} out of range")
    return round(abs(degrees) * 1_000_000)


def _common(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Optional time window / speed limit / name, setting the matching attribute bits."""
    attributes = int(spec.get("attributes", 0))
    out: dict[str, Any] = {}
    if spec.get("start") and spec.get("end"):
        attributes |= AREA_BY_TIME
        out["start"] = datetime.fromisoformat(str(spec["start"]))
        out["end"] = datetime.fromisoformat(str(spec["end"]))
    if spec.get("max_speed") is not None:
        attributes |= AREA_SPEED_LIMIT
        out["max_speed"] = int(spec["max_speed"])
        out["overspeed_duration"] = int(spec.get("overspeed_duration", 10))
        if spec.get("night_max_speed") is not None:
            out["night_max_speed"] = int(spec["night_max_speed"])
    if spec.get("name"):
        out["name"] = str(spec["name"])
    out["attributes"] = attributes
    return out


def _circle(spec: Mapping[str, Any]) -> CircleArea:
    lat, lon = float(spec["latitude"]), float(spec["longitude"])
    common = _common(spec)
    # Signs go into attribute bits 6 (south) and 7 (west), as for polygons.
    common["attributes"] |= (AREA_SOUTH if lat < 0 else 0) | (AREA_WEST if lon < 0 else 0)
    return CircleArea(
        area_id=int(spec["area_id"]),
        lat_raw=_micro(lat, "latitude"),
        lon_raw=_micro(lon, "longitude"),
        radius=int(spec["radius"]),
        **common,
    )


def _polygon(spec: Mapping[str, Any]) -> PolygonArea:
    points = [(float(lat), float(lon)) for lat, lon in spec["points"]]
    if len(points) < 3:
        raise ValueError("a polygon needs at least 3 points")
    common = _common(spec)
    south, west = points[0][0] < 0, points[0][1] < 0
    common["attributes"] |= (AREA_SOUTH if south else 0) | (AREA_WEST if west else 0)
    return PolygonArea(
        area_id=int(spec["area_id"]),
        vertices=tuple((_micro(a, "latitude"), _micro(b, "longitude")) for a, b in points),
        **common,
    )


def build_downlink(kind: str, data: Mapping[str, Any]) -> tuple[int, Body]:
    """(message id, body) for a command given as plain data (JSON from the control channel).

    kinds: 'text' {text, urgent?, tts? (default true), display? (default true)};
    'circle_areas' {action? (0 replace, 1 append, 2 modify), areas: [{area_id, latitude,
    longitude, radius, attributes?, max_speed?, overspeed_duration?, start?, end?, name?}]};
    'polygon_area' {area_id, points: [[lat, lon], ...], ...same optional fields};
    'location_query' {}. Raises ValueError on anything malformed.
    """
    try:
        if kind == "text":
            text = str(data.get("text", "")).strip()
            if not text:
                raise ValueError("empty text")
            try:
                size = len(text.encode("gbk"))
            except UnicodeEncodeError as exc:
                raise ValueError("text has characters GBK cannot carry") from exc
            if size > MAX_TEXT_BYTES:
                raise ValueError(f"text longer than {MAX_TEXT_BYTES} bytes")
            flag = (
                (TEXT_URGENT if data.get("urgent") else 0)
                | (TEXT_TTS if data.get("tts", True) else 0)
                | (TEXT_DISPLAY if data.get("display", True) else 0)
            )
            return 0x8300, TextMessage(flag, text)
        if kind == "circle_areas":
            areas = tuple(_circle(a) for a in data["areas"])
            if not areas or len(areas) > 255:
                raise ValueError("0x8600 carries 1 to 255 areas")
            return 0x8600, SetCircleAreas(int(data.get("action", 0)), areas)
        if kind == "polygon_area":
            return 0x8604, _polygon(data)
        if kind == "location_query":
            return 0x8201, LocationQuery()
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed {kind} command: {exc!r}") from exc
    raise ValueError(f"unknown command kind {kind!r}")
