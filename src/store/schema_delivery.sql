-- Home deliveries of holds are journaled like loans: the row keeps the ILS location the hold
-- moves to, for the sync to replay.
ALTER TABLE journal ADD COLUMN pickup TEXT;
