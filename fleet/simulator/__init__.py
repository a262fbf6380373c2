"""The fleet simulator: the demo city's terminals on real JT/T 808 TCP connections.

``manage.py simulate`` loads the registry and geography once (``world``), then drives every
terminal (or a sample) in one asyncio loop: register, authenticate, report every 10-30 s while
driving the road network the way its vehicle kind does, with a seeded share of vehicles
misbehaving in each way RULES.md §2 lists, now and then a malformed frame, and 0x0704 backfills
after blind areas. Same seed + same city + same start time → the same reports.

Pipeline, one terminal::

    behaviours/<kind>.day ──stages──▶ sampler ──fixes──▶ faults (report misbehaviours)
        ──items──▶ outbox (protocol: handshake, heartbeats, link loss, backfill, malformed)
        ──messages──▶ terminal.TerminalClient (socket, acks, downlinks)  or  outbox.render()

Modules
    world        the database snapshot (the only ORM user besides the command)
    entities     plain objects of that snapshot
    geometry     metric frame, polylines
    graph        road graph, A* routes, limits along a route
    motion       speed profile along a route (limits, junctions, ramps, overspeed)
    planner      stages with time, place, load and duty (rests) bookkeeping; Traits
    behaviours/  taxi (and ride-hailing), bus, coach, hazmat, freight (heavy trucks)
    sampler      stages → fixes (report intervals, status bits, blind areas)
    misbehaviour catalogue, seeded assignment, trait injectors
    alarms       0x64/0x65 active-safety items (Su / Yue)
    faults       report-level injectors (DSM, ADAS, device faults, drift, going dark)
    meter        taxi meter trips and their sink (JSON lines until the ingest API exists)
    outbox       items → messages; Framer; render()
    malformed    corrupted frames the codec must reject
    clock        real, accelerated or stepped simulated time
    terminal     the asyncio TCP client of one terminal
    runner       sample selection, the loop of thousands of terminals, the summary
    localtime    UTC+8 days, hours and zone windows on POSIX seconds
"""
