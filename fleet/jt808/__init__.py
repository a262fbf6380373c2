"""JT/T 808 (2011/2013/2019) codec: pure Python, standard library only, no Django.

Decoding a TCP stream::

    reader = MessageReader()                  # FrameReader + decode_payload
    for item in reader.feed(chunk):           # any chunking, garbage between frames tolerated
        if isinstance(item, Jt808Error):      # item.code: 'bad_checksum', 'bad_length', ...
            ...                               # item.header is set when it could be read
        elif isinstance(item.body, Fragment):
            whole = reassembler.add_message(item, now)   # Reassembler, poll(now) → 0x8003
        else:
            handle(item.header, item.body)    # typed dataclass or UnknownMessage

Public API
----------
Frames
    ``decode_frame(frame: bytes) -> Message``  one wire frame, 0x7E delimiters optional
    ``decode_payload(payload: bytes) -> Message``  unescaped header + body, check removed
    ``encode_message(header: Header, body: Body | bytes) -> bytes``  complete escaped frame
    ``encode_split(header, body, max_packet=1023) -> list[bytes]``  split packets
    ``general_response(request: Header, serial: int, result: int = 0) -> bytes``  0x8001
    ``reply_header(request: Header, msg_id: int, serial: int) -> Header``
    ``decode_body_bytes(header: Header, data: bytes) -> Body``  e.g. a reassembled body
    ``body_msg_id(body) -> int | None``
    ``Message(header, body)``
Streams
    ``FrameReader(max_frame=2090).feed(data) -> list[bytes | Jt808Error]``
    ``MessageReader(max_frame=2090).feed(data) -> list[Message | Jt808Error]``
    ``escape``, ``unescape``, ``checksum``
Header
    ``Header(msg_id, phone, serial=0, protocol_version=None, encryption=0,
    packet_count=None, packet_index=None, forced_2013=False, reserved_bit=False)``
    ``normalize_phone(number, digits=20) -> str``, ``phone_key(number) -> str``
Split messages
    ``Reassembler(timeout=30.0, max_pending=1024, max_packets=2048, max_bytes=2 MiB,
    max_requests=3)``: ``add(header, fragment, now) -> bytes | None``,
    ``add_message(message, now) -> Message | None``, ``poll(now) -> list[MissingPackets]``;
    ``resend_request_frame(missing, serial) -> bytes``
Location (0x0200)
    ``Location`` (raw fields + ``latitude``/``longitude``/``position``/``speed_kmh``/
    ``positioned``/``acc_on``/``load_state``/``alarm_names``/``status_names``/``item(id)``/
    ``extras(table=None) -> LocationExtras``), ``Location.at(...)``, ``AlarmFlag``,
    ``StatusFlag``; active safety: ``SafetyAlarm``, ``AlarmCodeTable``, ``SU_TABLE``,
    ``YUE_TABLE``, ``ALARM_CODE_TABLES``
Bodies (``encode(v2019)`` / ``decode(data, v2019)``)
    0x0001 TerminalResponse, 0x8001 PlatformResponse, 0x0002 Heartbeat, 0x0003 Logout,
    0x0100 Register, 0x8100 RegisterResponse, 0x0102 Auth, 0x0200 Location,
    0x8201 LocationQuery, 0x0201 LocationQueryResponse, 0x0704 BatchLocation,
    0x0702 DriverIdentity, 0x0701 Waybill, 0x8300 TextMessage, 0x8600 SetCircleAreas
    (CircleArea), 0x8604 PolygonArea, 0x8003 ResendRequest, 0x8103 SetParams,
    0x8104 ParamsQuery, 0x0104 ParamsResponse; any other id → UnknownMessage(msg_id, raw);
    split packets → Fragment(msg_id, raw)
Text
    ``WireText`` (decoded GBK text that re-encodes to its exact bytes), ``strip_padding``
Errors
    ``Jt808Error`` (``code``, ``reason``, ``header``) and subclasses: EscapeError
    'bad_escape', ChecksumError 'bad_checksum', OversizeError 'oversize', GarbageError
    'garbage', TruncatedError 'truncated', LengthError 'bad_length', BcdError 'bad_bcd',
    BodyError 'bad_body', PacketError 'bad_packet', EncodeError 'bad_value'.
    Decoding arbitrary bytes raises nothing else.

Times are timezone-aware datetimes in UTC+8 (``CST``), as the terminals send them.
"""

from .bcd import CST
from .codec import (
    Message,
    MessageReader,
    decode_body_bytes,
    decode_frame,
    decode_payload,
    encode_message,
    encode_split,
    general_response,
    reply_header,
)
from .errors import (
    BcdError,
    BodyError,
    ChecksumError,
    EncodeError,
    EscapeError,
    FramingError,
    GarbageError,
    Jt808Error,
    LengthError,
    OversizeError,
    PacketError,
    TruncatedError,
)
from .extras import AreaEvent, DrivingBehaviour, LocationExtras, Overspeed, RouteTime
from .framing import DEFAULT_MAX_FRAME, FrameReader, checksum, escape, unescape
from .header import Header, normalize_phone, phone_key
from .location import AlarmFlag, Location, StatusFlag
from .messages import (
    Auth,
    BatchLocation,
    CircleArea,
    DriverIdentity,
    Heartbeat,
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
    Waybill,
)
from .reassembly import MissingPackets, Reassembler, resend_request_frame
from .registry import Body, Fragment, UnknownMessage, body_msg_id
from .safety import ALARM_CODE_TABLES, SU_TABLE, YUE_TABLE, AlarmCodeTable, SafetyAlarm
from .text import WireText, strip_padding

__all__ = [
    "ALARM_CODE_TABLES",
    "CST",
    "DEFAULT_MAX_FRAME",
    "SU_TABLE",
    "YUE_TABLE",
    "AlarmCodeTable",
    "AlarmFlag",
    "AreaEvent",
    "Auth",
    "BatchLocation",
    "BcdError",
    "Body",
    "BodyError",
    "ChecksumError",
    "CircleArea",
    "DriverIdentity",
    "DrivingBehaviour",
    "EncodeError",
    "EscapeError",
    "Fragment",
    "FrameReader",
    "FramingError",
    "GarbageError",
    "Header",
    "Heartbeat",
    "Jt808Error",
    "LengthError",
    "Location",
    "LocationExtras",
    "LocationQuery",
    "LocationQueryResponse",
    "Logout",
    "Message",
    "MessageReader",
    "MissingPackets",
    "OversizeError",
    "Overspeed",
    "PacketError",
    "ParamsQuery",
    "ParamsResponse",
    "PlatformResponse",
    "PolygonArea",
    "Reassembler",
    "Register",
    "RegisterResponse",
    "ResendRequest",
    "RouteTime",
    "SafetyAlarm",
    "SetCircleAreas",
    "SetParams",
    "StatusFlag",
    "TerminalResponse",
    "TextMessage",
    "TruncatedError",
    "UnknownMessage",
    "Waybill",
    "WireText",
    "body_msg_id",
    "checksum",
    "decode_body_bytes",
    "decode_frame",
    "decode_payload",
    "encode_message",
    "encode_split",
    "escape",
    "general_response",
    "normalize_phone",
    "phone_key",
    "reply_header",
    "resend_request_frame",
    "strip_padding",
    "unescape",
]
