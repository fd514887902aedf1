-- The journal's open rows (pending, queued) in the order the sync replays them, and by item in
-- the order the kiosk settles an item's earlier rows before a new request: without these every
-- batch of the sync and every checkout walked the whole journal, acknowledged rows included.
CREATE INDEX journal_open_order ON journal (id) WHERE state IN ('pending', 'queued');
CREATE INDEX journal_open_item ON journal (item_id, id) WHERE state IN ('pending', 'queued');
