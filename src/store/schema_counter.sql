-- The bookstore partner counter: the item ids it hands out and the books it buys.

-- Every id ever handed out from a counter's range. Rows are never deleted: an id is handed
-- out once, whatever happens to its book (a crash before use, an undone loan).
CREATE TABLE counter_ids (
    item_id        TEXT PRIMARY KEY NOT NULL,
    -- The number inside the id (before any check digit), and its count of digits.
    number         INTEGER NOT NULL,
    width          INTEGER NOT NULL,
    allocated_at   TEXT NOT NULL,
    -- allocated: handed out, no purchase yet; used: a purchase carries it (also once undone)
    state          TEXT NOT NULL CHECK (state IN ('allocated', 'used'))
) STRICT;

CREATE UNIQUE INDEX counter_ids_number ON counter_ids (width, number);

-- Books bought at the bookstore and lent at once. The patron id is kept only while the
-- quotas need it (purged after), and never leaves the counter: exports and invoices have none.
CREATE TABLE counter_purchases (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- When (UTC, RFC 3339), and the counter's local date (YYYY-MM-DD) for quotas and exports.
    purchased_at   TEXT NOT NULL,
    day            TEXT NOT NULL,
    isbn           TEXT NOT NULL,
    title          TEXT NOT NULL,
    author         TEXT NOT NULL DEFAULT '',
    publisher      TEXT NOT NULL DEFAULT '',
    year           TEXT NOT NULL DEFAULT '',
    price_cents    INTEGER NOT NULL CHECK (price_cents >= 0),
    currency       TEXT NOT NULL,
    item_id        TEXT NOT NULL UNIQUE REFERENCES counter_ids (item_id),
    bookstore_code TEXT NOT NULL,
    bookstore_name TEXT NOT NULL,
    -- The bookseller who confirmed the purchase.
    bookseller     TEXT NOT NULL,
    patron_id      TEXT,
    -- The journal row of the loan, once written.
    journal_id     INTEGER,
    state          TEXT NOT NULL CHECK (state IN ('active', 'undone')),
    undone_at      TEXT
) STRICT;

CREATE INDEX counter_purchases_patron ON counter_purchases (patron_id, day)
    WHERE patron_id IS NOT NULL;
CREATE INDEX counter_purchases_day ON counter_purchases (day);
CREATE INDEX counter_purchases_isbn ON counter_purchases (isbn, day);
