-- Version 2: the journal remembers whether a request may have reached the ILS before it was
-- queued offline (the sync then asks the ILS first), and the patron cache counts offline
-- loans queued for the patron.

ALTER TABLE journal ADD COLUMN maybe_sent INTEGER NOT NULL DEFAULT 0 CHECK (maybe_sent IN (0, 1));
