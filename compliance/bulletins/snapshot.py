"""A bulletin as JSON and back: what a published ``Bulletin`` row keeps (dates as ISO text)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Any

from compliance.bulletins.data import BulletinData


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def to_json(data: BulletinData) -> dict[str, Any]:
    return _plain(dataclasses.asdict(data))


def _load(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _load(inner, value)
    if origin is list:
        (inner,) = typing.get_args(kind)
        return [_load(inner, item) for item in value]
    if origin is dict:
        _key, inner = typing.get_args(kind)
        return {key: _load(inner, item) for key, item in value.items()}
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _load(hints[f.name], value[f.name])
                       for f in dataclasses.fields(kind) if f.name in value})
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    return value


def from_json(raw: dict[str, Any]) -> BulletinData:
    """The tree back from a stored snapshot (the inverse of ``to_json``)."""
    return _load(BulletinData, raw)
