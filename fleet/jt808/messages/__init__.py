"""Typed message bodies. Importing this package registers every body codec."""

from .areas import CircleArea, PolygonArea, SetCircleAreas
from .general import (
    Heartbeat,
    LocationQuery,
    Logout,
    ParamsQuery,
    PlatformResponse,
    ResendRequest,
    TerminalResponse,
)
from .platform import ParamsResponse, SetParams, TextMessage
from .reports import BatchLocation, DriverIdentity, LocationQueryResponse, Waybill
from .terminal import Auth, Register, RegisterResponse

__all__ = [
    "Auth",
    "BatchLocation",
    "CircleArea",
    "DriverIdentity",
    "Heartbeat",
    "LocationQuery",
    "LocationQueryResponse",
    "Logout",
    "ParamsQuery",
    "ParamsResponse",
    "PlatformResponse",
    "PolygonArea",
    "Register",
    "RegisterResponse",
    "ResendRequest",
    "SetCircleAreas",
    "SetParams",
    "TerminalResponse",
    "TextMessage",
    "Waybill",
]
