"""DDL of the partitioned position table (Django has no partitioned-table support)."""

POSITIONS_TABLE = "telemetry_position"

# flags: bit 0 positioned, 1 valid (RULES.md §3), 2 drift, 3 backfill (0x0704 type 1).
FLAG_POSITIONED = 1
FLAG_VALID = 2
FLAG_DRIFT = 4
FLAG_BACKFILL = 8

CREATE_POSITIONS = f"""
CREATE TABLE {POSITIONS_TABLE} (
    vehicle_id bigint NOT NULL,
    fix_time timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    longitude double precision,
    latitude double precision,
    geom geometry(Point, 4326) GENERATED ALWAYS AS (
        CASE WHEN longitude IS NULL OR latitude IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(longitude, latitude), 4326) END) STORED,
    speed_kmh real NOT NULL,
    heading smallint NOT NULL,
    altitude integer NOT NULL,
    alarm bigint NOT NULL,
    status bigint NOT NULL,
    flags smallint NOT NULL,
    source smallint NOT NULL,
    mileage_km real,
    items bytea,
    PRIMARY KEY (vehicle_id, fix_time)
) PARTITION BY RANGE (fix_time);
CREATE INDEX {POSITIONS_TABLE}_time_brin ON {POSITIONS_TABLE} USING brin (fix_time);
CREATE TABLE {POSITIONS_TABLE}_default PARTITION OF {POSITIONS_TABLE} DEFAULT;
"""

DROP_POSITIONS = f"DROP TABLE IF EXISTS {POSITIONS_TABLE} CASCADE;"
