-- Conflicts settled by staff: when a row became a conflict (its age counts from then, and an
-- unresolved one is purged once older than `offline.conflict_max_days`), and how staff
-- resolved it. A resolved row is acknowledged and follows the journal's normal retention.

ALTER TABLE journal ADD COLUMN conflict_since TEXT;
-- resent: sent again on staff's word and taken by the ILS (state done)
-- dropped: staff handled it at the ILS (state refused: the kiosk's request was not applied)
ALTER TABLE journal ADD COLUMN resolution TEXT CHECK (resolution IN ('resent', 'dropped'));
ALTER TABLE journal ADD COLUMN resolved_at TEXT;
-- Staff's note (no patron data: a reason, a desk reference).
ALTER TABLE journal ADD COLUMN resolution_note TEXT;

-- Conflicts older than any retention are rows staff left: the row's last word stands in for
-- when it became one.
UPDATE journal SET conflict_since = updated_at WHERE state = 'conflict';
