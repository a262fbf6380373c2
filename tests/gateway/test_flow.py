"""Register → authenticate → report over a real socket, and what is refused on the way."""

from __future__ import annotations

from fleet.gateway.records import SOURCE_BATCH, Fix, TerminalEvent
from fleet.jt808 import Auth, BatchLocation, encode_split
from fleet.jt808 import Header as Jt808Header
from fleet.validators import canonical_sim
from tests.gateway.harness import TerminalClient, sample_location


def fixes(records: list) -> list[Fix]:
    return [r for r in records if isinstance(r, Fix)]


def test_register_authenticate_location_reaches_sink(gateway, connect, registry):
    client = connect()
    answer = client.register("辽L12345")
    assert (answer.result, answer.auth_code) == (0, "AUTH123")
    client.authenticate(answer.auth_code)

    request = client.location(minute=5)
    client.expect_ack(request, 0)

    records = gateway.sink.wait_for(lambda rs: len(fixes(rs)) == 1)
    fix = fixes(records)[0]
    assert fix.sim == canonical_sim(registry.phone)
    assert (fix.vehicle_id, fix.plate) == (registry.vehicle.pk, "辽L12345")
    assert (fix.latitude, fix.longitude, fix.speed_kmh) == (41.12, 122.07, 42.5)
    assert fix.time.isoformat() == "2025-03-01T08:05:00+08:00"
    assert fix.received_at.tzinfo is not None
    assert not fix.backfill and fix.serial == request.serial
    online = [r for r in records if isinstance(r, TerminalEvent) and r.kind == "online"]
    assert len(online) == 1


def test_2019_header_with_20_digit_phone_matches_registry(gateway, connect, registry):
    client = connect(registry.phone.rjust(20, "0"), version=1)
    assert client.register("辽L12345").result == 0
    header = client.send(0x0102, Auth("AUTH123", "860000000000001", "v1.0"))
    client.expect_ack(header, 0)
    client.expect_ack(client.location(), 0)


def test_unknown_terminal_gets_result_4(gateway, connect):
    client = connect("013800000000")
    assert client.register("辽L12345").result == 4


def test_wrong_plate_gets_result_2(gateway, connect):
    client = connect()
    assert client.register("辽L99999").result == 2
    assert client.register("辽L12345", colour=2).result == 2  # plate right, colour wrong


def test_wrong_auth_code_refused_then_disconnected(gateway, connect):
    client = connect()
    for _ in range(gateway.config.max_auth_failures):
        header = client.send(0x0102, Auth("WRONG"))
        client.expect_ack(header, 1)
    assert client.closed_by_gateway()
    assert gateway.stats.errors["auth_failed"] == 3
    assert gateway.stats.errors["auth_failures"] == 1


def test_data_before_authentication_refused(gateway, connect):
    client = connect()
    request = client.location()
    client.expect_ack(request, 1)
    client.expect_ack(client.heartbeat(), 1)
    assert client.register("辽L12345").result == 0  # registering is not authenticating
    client.expect_ack(client.location(), 1)
    assert gateway.sink.records() == []
    assert gateway.stats.errors["unauthenticated"] == 3


def test_heartbeat_acknowledged(terminal: TerminalClient):
    terminal.expect_ack(terminal.heartbeat(), 0)


def test_batch_backfill_flagged(gateway, terminal):
    body = BatchLocation(1, (sample_location(minute=1), sample_location(minute=2)))
    request = terminal.send(0x0704, body)
    terminal.expect_ack(request, 0)
    got = fixes(gateway.sink.wait_for(lambda rs: len(fixes(rs)) == 2))
    assert [f.backfill for f in got] == [True, True]
    assert {f.source for f in got} == {SOURCE_BATCH}
    assert [f.time.minute for f in got] == [1, 2]

    terminal.expect_ack(terminal.send(0x0704, BatchLocation(0, (sample_location(minute=3),))))
    got = fixes(gateway.sink.wait_for(lambda rs: len(fixes(rs)) == 3))
    assert got[-1].backfill is False


def test_not_positioned_fix_has_no_coordinates(gateway, terminal):
    terminal.expect_ack(terminal.location(status=0), 0)
    fix = fixes(gateway.sink.wait_for(lambda rs: len(fixes(rs)) == 1))[0]
    assert (fix.latitude, fix.longitude, fix.positioned) == (None, None, False)


def test_unsupported_message_gets_result_3(gateway, terminal):
    request = terminal.send(0x0F01, b"\x01\x02\x03")
    terminal.expect_ack(request, 3)
    assert gateway.stats.errors["unsupported"] == 1


def test_logout_event(gateway, terminal):
    terminal.expect_ack(terminal.send(0x0003, b""), 0)
    records = gateway.sink.wait_for(
        lambda rs: any(isinstance(r, TerminalEvent) and r.kind == "logout" for r in rs)
    )
    assert records[-1].kind == "logout"
    terminal.expect_ack(terminal.location(), 1)  # logged out: no more data


def test_split_message_reassembled_with_resend_request(registry, start_gateway, connect):
    gateway = start_gateway(reassembly_timeout_s=0.3)
    client = TerminalClient(gateway.port, registry.phone)
    try:
        assert client.register("辽L12345").result == 0
        client.authenticate()
        body = BatchLocation(0, tuple(sample_location(minute=m) for m in range(6)))
        packets = encode_split(Jt808Header(0x0704, registry.phone, 100), body, max_packet=64)
        assert len(packets) >= 3
        for index, packet in enumerate(packets, 1):
            if index != 2:
                client.send_raw(packet)
                client.expect(0x8001)  # each stored packet is acknowledged
        # packet 2 never came: the sweep asks for it again
        request = client.expect(0x8003, timeout=3).body
        assert (request.original_serial, request.packet_ids) == (100, (2,))
        assert fixes(gateway.sink.records()) == []
        client.send_raw(packets[1])
        ack = client.expect(0x8001).body
        assert (ack.reply_serial, ack.reply_id, ack.result) == (101, 0x0704, 0)
        got = fixes(gateway.sink.wait_for(lambda rs: len(fixes(rs)) == 6))
        assert [f.time.minute for f in got] == list(range(6))
    finally:
        client.close()


def test_active_safety_items_parsed_with_terminal_standard(gateway, terminal):
    import struct

    value = struct.pack(">IBBB5sBHII", 77, 1, 0x02, 1, b"\0" * 5, 60, 5, 41_120_000,
                        122_070_000) + bytes.fromhex("250301080000") + b"\x00\x03"
    value += b"T000001" + bytes.fromhex("250301080000") + b"\x00\x01\x00"
    assert len(value) == 47
    terminal.expect_ack(terminal.location(items=((0x65, value),)), 0)
    records = gateway.sink.wait_for(
        lambda rs: any(isinstance(r, TerminalEvent) and r.kind == "safety_alarm" for r in rs)
    )
    fix = fixes(records)[0]
    assert [(a.kind, a.type_name, a.flag) for a in fix.safety_alarms] == [
        ("dsm", "dsm_phone", 1)
    ]
    event = next(r for r in records if isinstance(r, TerminalEvent) and r.kind == "safety_alarm")
    assert event.code == "dsm_phone"
    assert fix.items == ((0x65, value),)


def test_same_terminal_reconnecting_replaces_old_session(gateway, connect):
    first = connect()
    assert first.register("辽L12345").result == 0
    first.authenticate()
    second = connect()
    second.authenticate()
    assert first.closed_by_gateway()
    assert gateway.run(lambda: gateway.stats.authenticated_current) == 1
    second.expect_ack(second.location(), 0)



def test_registry_reload_drops_deactivated_terminal(gateway, terminal, registry):
    terminal.expect_ack(terminal.heartbeat(), 0)
    registry.terminal.active = False
    registry.terminal.save(update_fields=["active"])
    assert gateway.call(gateway.server.directory.refresh(gateway.server.db.run)) == 0
    terminal.heartbeat()  # the next chunk sees the new registry
    assert terminal.closed_by_gateway()
    assert gateway.stats.errors["deregistered"] == 1
