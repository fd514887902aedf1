//! The nonces of accepted phone tokens, for the replay check.

use rusqlite::Connection;

use super::StoreError;

/// Records `cti`, remembered until `expires_at` (seconds since the Unix epoch), and forgets
/// the nonces that expired by `now`. True when the nonce is fresh; false when it was already
/// claimed and has not expired, that is, the token is replayed. One transaction: two
/// processes sharing the database cannot both claim the same nonce.
pub fn claim_cti(
    conn: &Connection,
    cti: &[u8],
    expires_at: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let tx = conn.unchecked_transaction()?;
    tx.execute("DELETE FROM phone_cti WHERE expires_at <= ?1", [now])?;
    let inserted = tx.execute(
        "INSERT INTO phone_cti (cti, expires_at) VALUES (?1, ?2) ON CONFLICT (cti) DO NOTHING",
        (cti, expires_at),
    )?;
    tx.commit()?;
    Ok(inserted == 1)
}

/// How many nonces are remembered (diagnostics, tests).
pub fn remembered(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM phone_cti", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_claimed_once_until_it_expires() {
        let conn = super::super::open_in_memory().expect("db");
        let cti = [7u8; 16];
        assert!(claim_cti(&conn, &cti, 1_000, 900).expect("claim"));
        assert!(!claim_cti(&conn, &cti, 1_000, 901).expect("again"));
        assert!(!claim_cti(&conn, &cti, 1_000, 999).expect("just before expiry"));
        assert!(claim_cti(&conn, &[8u8; 16], 2_000, 999).expect("another"));
        assert_eq!(remembered(&conn).expect("count"), 2);
        // Expired nonces are purged by the next claim, whichever it is.
        assert!(claim_cti(&conn, &[9u8; 16], 3_000, 1_000).expect("later"));
        assert_eq!(remembered(&conn).expect("count"), 2);
        assert!(claim_cti(&conn, &cti, 4_000, 1_000).expect("expired one is free again"));
    }

    #[test]
    fn nonces_of_the_wrong_size_are_refused_by_the_schema() {
        let conn = super::super::open_in_memory().expect("db");
        assert!(claim_cti(&conn, &[1u8; 4], 10, 0).is_err());
        assert!(claim_cti(&conn, &[1u8; 33], 10, 0).is_err());
        assert_eq!(remembered(&conn).expect("count"), 0);
    }

    #[test]
    fn claims_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("db");
        {
            let conn = super::super::open(&path).expect("open");
            assert!(claim_cti(&conn, &[3u8; 16], 500, 100).expect("claim"));
        }
        let conn = super::super::open(&path).expect("reopen");
        assert!(!claim_cti(&conn, &[3u8; 16], 500, 200).expect("replay after restart"));
    }
}
