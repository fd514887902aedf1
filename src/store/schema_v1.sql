-- Version 1: item and patron cache, circulation journal, daily statistics.

-- What the kiosk last heard from the ILS about an item, so it can lend offline and show titles.
CREATE TABLE item_cache (
    item_id        TEXT PRIMARY KEY NOT NULL,
    title          TEXT,
    media_type     TEXT,
    owner          TEXT,
    -- SIP2 circulation status code (03 available, 04 charged, ...)
    circulation    TEXT,
    permanent_location TEXT,
    updated_at     TEXT NOT NULL
) STRICT;

-- Only what the offline rules need: no name, no address, no loans list, no PIN in clear.
CREATE TABLE patron_cache (
    patron_id      TEXT PRIMARY KEY NOT NULL,
    -- Argon2 hash of the PIN the ILS accepted, so a PIN can be checked offline.
    pin_hash       TEXT,
    valid          INTEGER NOT NULL CHECK (valid IN (0, 1)),
    -- The 14 SIP2 patron-status flags as 'Y'/' ' characters.
    status_flags   TEXT NOT NULL DEFAULT '              ',
    charged_count  INTEGER NOT NULL DEFAULT 0,
    charged_limit  INTEGER,
    fine_amount    REAL NOT NULL DEFAULT 0,
    fee_limit      REAL,
    updated_at     TEXT NOT NULL
) STRICT;

-- Write-ahead journal of circulation actions: a row is written before the request is sent
-- and updated with the answer. Rows are purged once the ILS has acknowledged them and the
-- retention has passed.
CREATE TABLE journal (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- checkout, checkin, renew, renew_all
    action         TEXT NOT NULL,
    patron_id      TEXT,
    item_id        TEXT,
    -- pending: written, not yet known to have reached the ILS
    -- queued: decided offline, to be replayed by the sync
    -- done / refused: the ILS answered
    -- conflict: the sync's replay was refused in a way staff must look at
    state          TEXT NOT NULL CHECK (state IN ('pending', 'queued', 'done', 'refused', 'conflict')),
    offline        INTEGER NOT NULL DEFAULT 0 CHECK (offline IN (0, 1)),
    -- When the patron did it (SIP2 transaction date), and the due date promised offline.
    transaction_at TEXT NOT NULL,
    due_at         TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    -- The ILS's screen message or our reason, for staff.
    message        TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    acked_at       TEXT
) STRICT;

CREATE INDEX journal_open ON journal (state) WHERE state IN ('pending', 'queued', 'conflict');
CREATE INDEX journal_acked ON journal (acked_at) WHERE acked_at IS NOT NULL;

-- Counts per day and kind of event for the lobby screen and fleet reports: no patron ids.
CREATE TABLE daily_stats (
    day            TEXT NOT NULL,
    kind           TEXT NOT NULL,
    count          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, kind)
) STRICT, WITHOUT ROWID;
