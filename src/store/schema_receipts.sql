-- E-mailed receipts waiting to be sent. A row is written before the kiosk tries to send
-- it and deleted once the mail server has taken it (or refused it for good, or it has
-- waited too long): the patron's address and titles are not kept after that.
CREATE TABLE receipt_mail (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The session language the mail is written in (en, it, zh_CN).
    language    TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body_text   TEXT NOT NULL,
    body_html   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    -- UTC (RFC 3339); a row being sent is leased by moving this ahead.
    next_try_at TEXT NOT NULL,
    last_error  TEXT,
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX receipt_mail_due ON receipt_mail (next_try_at);
