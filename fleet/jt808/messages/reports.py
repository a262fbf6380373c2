"""Terminal reports built on or beside 0x0200: 0x0201, 0x0704, 0x0702 driver identity, 0x0701."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..bcd import bcd_date, bcd_datetime, date_bcd, datetime_bcd
from ..cursor import Cursor
from ..errors import BodyError, EncodeError
from ..location import Location
from ..registry import body_codec
from ..text import decode_text, encode_fixed, encode_prefixed


@body_codec(0x0201)
@dataclass(slots=True)
class LocationQueryResponse:
    """0x0201: reply serial WORD + a 0x0200 body."""

    reply_serial: int
    location: Location

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> LocationQueryResponse:
        if len(data) < 2:
            raise BodyError("0x0201: body too short for the reply serial")
        return cls(int.from_bytes(data[:2], "big"), Location.decode(data[2:], v2019))

    def encode(self, v2019: bool) -> bytes:
        return self.reply_serial.to_bytes(2, "big") + self.location.encode(v2019)


BATCH_NORMAL = 0
BATCH_BACKFILL = 1


@body_codec(0x0704)
@dataclass(slots=True)
class BatchLocation:
    """0x0704: count WORD, type BYTE (0 normal, 1 blind-area backfill), count x (length WORD +
    0x0200 body)."""

    kind: int
    locations: tuple[Location, ...]

    @property
    def backfill(self) -> bool:
        return self.kind == BATCH_BACKFILL

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> BatchLocation:
        cur = Cursor(data, "0x0704")
        count = cur.u16("count")
        kind = cur.u8("type")
        locations = tuple(
            Location.decode(cur.take(cur.u16("item length"), "location item"), v2019)
            for _ in range(count)
        )
        cur.done()
        return cls(kind, locations)

    def encode(self, v2019: bool) -> bytes:
        parts = [len(self.locations).to_bytes(2, "big"), bytes((self.kind,))]
        for loc in self.locations:
            body = loc.encode(v2019)
            parts.append(len(body).to_bytes(2, "big"))
            parts.append(body)
        return b"".join(parts)


CARD_IN = 1
CARD_OUT = 2


@body_codec(0x0702)
@dataclass(slots=True)
class DriverIdentity:
    """0x0702 driver identity (IC card) report.

    status 1 (card in / on duty): read result, and when it is 0: name, qualification
    certificate STRING[20], issuer, valid until BCD[4]; 2019 bodies add the ID card number
    STRING[20]. status 2 (card out): time only. The ID card is taken whenever exactly 20 bytes
    follow the valid-until date, whatever the header edition, because some 2013-header devices
    send the 2019 body (vector S20). A certificate long expired is still valid data.
    """

    status: int
    time: datetime
    read_result: int | None = None
    name: str = ""
    certificate: str = ""
    issuer: str = ""
    valid_until: date | None = None
    id_card: str | None = None

    @property
    def card_in(self) -> bool:
        return self.status == CARD_IN

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> DriverIdentity:
        cur = Cursor(data, "0x0702")
        status = cur.u8("status")
        time = bcd_datetime(cur.take(6, "time"), "card time")
        if status != CARD_IN:
            cur.done()
            return cls(status, time)
        read_result = cur.u8("read result")
        if read_result != 0:
            cur.done()
            return cls(status, time, read_result)
        name = decode_text(cur.take(cur.u8("name length"), "name"))
        certificate = decode_text(cur.take(20, "certificate"))
        issuer = decode_text(cur.take(cur.u8("issuer length"), "issuer"))
        valid_until = bcd_date(cur.take(4, "valid until"), "certificate valid-until date")
        id_card = decode_text(cur.take(20, "ID card")) if cur.remaining == 20 else None
        cur.done()
        return cls(status, time, read_result, name, certificate, issuer, valid_until, id_card)

    def encode(self, v2019: bool) -> bytes:
        head = bytes((self.status,)) + datetime_bcd(self.time, "card time")
        if self.status != CARD_IN:
            return head
        if self.read_result is None:
            raise EncodeError("0x0702: card-in report needs read_result")
        head += bytes((self.read_result,))
        if self.read_result != 0:
            return head
        body = (
            head
            + encode_prefixed(self.name, 1, "driver name")
            + encode_fixed(self.certificate, 20, "certificate")
            + encode_prefixed(self.issuer, 1, "issuer")
            + date_bcd(self.valid_until)
        )
        if self.id_card is not None:
            body += encode_fixed(self.id_card, 20, "ID card")
        return body


@body_codec(0x0701)
@dataclass(slots=True)
class Waybill:
    """0x0701 electronic waybill: length DWORD + content (bytes kept; `text` when GBK)."""

    content: bytes

    @property
    def text(self) -> str | None:
        try:
            return self.content.decode("gb18030").strip("\x00")
        except UnicodeDecodeError:
            return None

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> Waybill:
        cur = Cursor(data, "0x0701")
        content = cur.take(cur.u32("length"), "waybill content")
        cur.done()
        return cls(content)

    def encode(self, v2019: bool) -> bytes:
        return len(self.content).to_bytes(4, "big") + self.content
