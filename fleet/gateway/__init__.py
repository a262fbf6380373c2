"""JT/T 808 TCP gateway: terminals in, decoded records out to the ingest pipeline.

Modules, one job each:
    records    the frozen dataclasses handed to the pipeline (Fix, TerminalEvent, ...)
    sink       RecordSink protocol, SinkUnavailable, InProcessSink
    directory  TerminalDirectory: in-memory registry of terminals by canonical SIM
    session    one connection's protocol state machine
    server     GatewayServer: asyncio server, sessions by SIM, send_downlink, shutdown
    downlink   command bodies from plain data, DownlinkResponse and errors
    control    Redis command channel (gateway side and the web side's submit/wait)
    stats      counters, Prometheus text, /metrics endpoint, Redis snapshot
    dbworker   the one thread the gateway uses for the ORM (directory reads only; 0x0702 card
               and 0x0701 waybill reports are applied by the pipeline: fleet.telemetry.cards)
    config     GatewayConfig from Django settings

Run it with ``manage.py run_gateway``. Only `sink`, `records` and `directory` import without
Django being set up; the rest expects ``django.setup()`` to have run.
"""
