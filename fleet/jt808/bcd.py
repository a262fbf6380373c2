"""Packed-decimal (BCD) fields: digit strings, YYMMDDhhmmss times and YYYYMMDD dates.

Terminals send all times in UTC+8, so decoded times are timezone-aware in `CST`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from .errors import BcdError, EncodeError

CST = timezone(timedelta(hours=8), "UTC+08:00")


def bcd_digits(raw: bytes, what: str = "BCD field") -> str:
    """Return the decimal digits of `raw`; a nibble above 9 raises `BcdError`."""
    digits = raw.hex()
    # hex() only yields 0-9a-f, so isdigit() is an exact BCD check here.
    if not digits.isdigit():
        raise BcdError(f"{what} is not BCD: {digits or '(empty)'}")
    return digits


def digits_bcd(digits: str, nbytes: int, what: str = "BCD field") -> bytes:
    """Pack a decimal digit string into `nbytes`, left-padding with zeros."""
    # str.isdigit() accepts non-ASCII digits such as '٣'; the wire only takes 0-9.
    if not (digits.isascii() and (digits.isdigit() or digits == "")):
        raise EncodeError(f"{what} must be decimal digits, got {digits!r}")
    if len(digits) > 2 * nbytes:
        raise EncodeError(f"{what} {digits!r} does not fit in {nbytes} BCD bytes")
    return bytes.fromhex(digits.rjust(2 * nbytes, "0"))


# Value of each byte read as two BCD digits, -1 when a nibble is above 9. A table lookup is the
# fastest way to read the six time bytes of every location report.
_BCD_VALUE = tuple(
    (b >> 4) * 10 + (b & 0xF) if b >> 4 < 10 and b & 0xF < 10 else -1 for b in range(256)
)


def bcd_datetime(raw: bytes, what: str = "time") -> datetime:
    """Decode BCD[6] YYMMDDhhmmss (UTC+8) into an aware datetime."""
    if len(raw) != 6:
        raise BcdError(f"{what} is not BCD[6]: {raw.hex() or '(empty)'}")
    v = _BCD_VALUE
    year, month, day, hour, minute, second = (
        v[raw[0]],
        v[raw[1]],
        v[raw[2]],
        v[raw[3]],
        v[raw[4]],
        v[raw[5]],
    )
    if min(year, month, day, hour, minute, second) < 0:
        raise BcdError(f"{what} is not BCD: {raw.hex()}")
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=CST)
    except ValueError as exc:
        raise BcdError(f"{what} {raw.hex()} is not a calendar time") from exc


def datetime_bcd(value: datetime, what: str = "time") -> bytes:
    """Encode a datetime as BCD[6] in UTC+8; naive datetimes are taken as UTC+8 wall time."""
    local = value.astimezone(CST) if value.tzinfo is not None else value
    if not 2000 <= local.year <= 2099:
        raise EncodeError(f"{what} {value.isoformat()} is outside 2000-2099 (two-digit year)")
    return bytes.fromhex(
        f"{local.year % 100:02d}{local.month:02d}{local.day:02d}"
        f"{local.hour:02d}{local.minute:02d}{local.second:02d}"
    )


def bcd_date(raw: bytes, what: str = "date") -> date | None:
    """Decode BCD[4] YYYYMMDD; all zeros (a card without the field) gives None."""
    d = bcd_digits(raw, what)
    if len(d) != 8:
        raise BcdError(f"{what} is not BCD[4]: {d}")
    if d == "00000000":
        return None
    try:
        return date(int(d[0:4]), int(d[4:6]), int(d[6:8]))
    except ValueError as exc:
        raise BcdError(f"{what} {d} is not a calendar date") from exc


def date_bcd(value: date | None) -> bytes:
    """Encode a date as BCD[4] YYYYMMDD (None as zeros)."""
    if value is None:
        return bytes(4)
    return bytes.fromhex(f"{value.year:04d}{value.month:02d}{value.day:02d}")
