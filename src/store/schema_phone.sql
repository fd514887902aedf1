-- Phone tokens: the nonce (cti) of every token a kiosk accepted, kept until the token could no
-- longer be accepted anyway, so that each code is used once. Nothing about the patron.

CREATE TABLE phone_cti (
    cti BLOB PRIMARY KEY NOT NULL CHECK (length(cti) BETWEEN 8 AND 32),
    -- Seconds since the Unix epoch: from then on the token is refused as expired.
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX phone_cti_expiry ON phone_cti (expires_at);
