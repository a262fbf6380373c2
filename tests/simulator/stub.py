"""A tiny asyncio JT/T 808 platform for tests: registers, authenticates, acknowledges, records.

Not the gateway: just enough protocol to exercise the simulator's TCP client (register → auth
→ reports → acks → heartbeats, downlink answers, a dropped connection and the backfill after it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

from fleet.jt808 import (
    Auth,
    Header,
    Jt808Error,
    Message,
    MessageReader,
    RegisterResponse,
    encode_message,
    general_response,
    phone_key,
    reply_header,
)


class StubGateway:
    def __init__(self, auth_code: str = "STUB-CODE", drop_after: int | None = None) -> None:
        self.auth_code = auth_code
        self.drop_after = drop_after  # abort each terminal's first connection after N messages
        self.dropped: set[str] = set()
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.connections: dict[str, int] = defaultdict(int)
        self.writers: dict[str, asyncio.StreamWriter] = {}
        self.serial = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        for writer in list(self.writers.values()):
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def _next(self) -> int:
        self.serial = (self.serial + 1) & 0xFFFF
        return self.serial

    def ids(self, phone: str) -> list[int]:
        return [m.msg_id for m in self.messages[phone_key(phone)]]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        messages = MessageReader()
        phone = ""
        try:
            while data := await reader.read(65536):
                for item in messages.feed(data):
                    if isinstance(item, Jt808Error):
                        if item.header is not None:
                            self.errors[item.header.phone_key] += 1
                            writer.write(general_response(item.header, self._next(), 2))
                        continue
                    phone = item.header.phone_key
                    if phone not in self.writers or self.writers[phone] is not writer:
                        self.connections[phone] += 1
                        self.writers[phone] = writer
                    self.messages[phone].append(item)
                    if self.drop_after is not None and phone not in self.dropped \
                            and len(self.messages[phone]) >= self.drop_after:
                        self.dropped.add(phone)  # gone before the answer: it is in flight
                        writer.transport.abort()
                        return
                    self._answer(item, writer)
        except ConnectionError:
            pass
        finally:
            if phone and self.writers.get(phone) is writer:
                del self.writers[phone]
            writer.close()

    def _answer(self, message: Message, writer: asyncio.StreamWriter) -> None:
        header = message.header
        if header.msg_id == 0x0100:
            body = RegisterResponse(header.serial, 0, self.auth_code)
            writer.write(encode_message(reply_header(header, 0x8100, self._next()), body))
        elif header.msg_id == 0x0102:
            ok = isinstance(message.body, Auth) and message.body.code == self.auth_code
            writer.write(general_response(header, self._next(), 0 if ok else 1))
        elif header.msg_id in (0x0200, 0x0704, 0x0702, 0x0701, 0x0002, 0x0003):
            writer.write(general_response(header, self._next(), 0))

    def send(self, phone: str, msg_id: int, body: object, *, v2019: bool = False) -> None:
        """A platform command to a connected terminal."""
        writer = self.writers[phone_key(phone)]
        header = Header(msg_id, phone, self._next(), 1 if v2019 else None)
        writer.write(encode_message(header, body))

    def drop(self, phone: str) -> None:
        """Close the terminal's connection from the platform side."""
        writer = self.writers.pop(phone_key(phone), None)
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.transport.abort()
