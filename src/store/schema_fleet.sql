-- Fleet telemetry: the outbox of circulation events not yet taken by the MQTT broker, and
-- counters that outlive the rows (events the full outbox dropped).

-- Written in the same transaction as the journal's answer, deleted once the broker has
-- acknowledged the event (PUBACK). No patron id, no item id: the payload is the published JSON.
CREATE TABLE fleet_outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Random, so that readers can drop a copy QoS 1 delivered twice, across terminals and
    -- across a database that was started afresh.
    event_id       TEXT NOT NULL UNIQUE,
    payload        TEXT NOT NULL,
    created_at     TEXT NOT NULL
) STRICT;

CREATE TABLE fleet_counters (
    name           TEXT PRIMARY KEY NOT NULL,
    value          INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
