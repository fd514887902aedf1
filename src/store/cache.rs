//! The item and patron cache: what the kiosk last heard from the ILS, so it can lend offline
//! and show titles. Only what the offline rules need: no names, no addresses, no loans list, no
//! PIN in clear.

use super::StoreError;

/// Remember an item's title and media type (keeps what is known when this answer has none).
pub fn cache_item(
    c: &rusqlite::Connection,
    item: &str,
    title: Option<&str>,
    media: Option<&str>,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO item_cache (item_id, title, media_type, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (item_id) DO UPDATE SET
           title = coalesce(excluded.title, title),
           media_type = coalesce(excluded.media_type, media_type),
           updated_at = excluded.updated_at",
        rusqlite::params![item, title, media, super::journal::now_stamp()],
    )?;
    Ok(())
}

/// A PIN's verifier for the patron cache (argon2, salted): checked offline, never stored in
/// clear.
pub fn pin_verifier(pin: &str) -> Option<String> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(pin.as_bytes())
        .ok()
        .map(|h| h.to_string())
}

pub struct PatronCacheRow {
    pub patron_id: String,
    pub pin_hash: Option<String>,
    pub valid: bool,
    pub flags: String,
    pub charged: i64,
    pub limit: Option<i64>,
    pub fine: f64,
}

/// Upsert the patron cache (keeps a known PIN hash when this answer carries none).
pub fn cache_patron(c: &mut rusqlite::Connection, r: &PatronCacheRow) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO patron_cache (patron_id, pin_hash, valid, status_flags, charged_count,
                                   charged_limit, fine_amount, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (patron_id) DO UPDATE SET
           pin_hash = coalesce(excluded.pin_hash, pin_hash), valid = excluded.valid,
           status_flags = excluded.status_flags, charged_count = excluded.charged_count,
           charged_limit = excluded.charged_limit, fine_amount = excluded.fine_amount,
           updated_at = excluded.updated_at",
        rusqlite::params![
            r.patron_id,
            r.pin_hash,
            r.valid,
            r.flags,
            r.charged,
            r.limit,
            r.fine,
            super::journal::now_stamp()
        ],
    )?;
    Ok(())
}

pub fn cached_patron(
    c: &rusqlite::Connection,
    id: &str,
) -> Result<Option<PatronCacheRow>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(c.query_row(
        "SELECT patron_id, pin_hash, valid, status_flags, charged_count, charged_limit, fine_amount
         FROM patron_cache WHERE patron_id = ?1",
        [id],
        |r| {
            Ok(PatronCacheRow {
                patron_id: r.get(0)?,
                pin_hash: r.get(1)?,
                valid: r.get(2)?,
                flags: r.get(3)?,
                charged: r.get(4)?,
                limit: r.get(5)?,
                fine: r.get(6)?,
            })
        },
    )
    .optional()?)
}

/// A cached item's (title, media type).
pub type CachedItem = (Option<String>, Option<String>);

pub fn cached_item(c: &rusqlite::Connection, id: &str) -> Result<Option<CachedItem>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(c.query_row(
        "SELECT title, media_type FROM item_cache WHERE item_id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patron_cache_has_no_name_and_no_clear_pin() {
        let mut c = crate::store::open_in_memory().expect("db");
        let row = PatronCacheRow {
            patron_id: "P".into(),
            pin_hash: pin_verifier("1234"),
            valid: true,
            flags: " ".repeat(14),
            charged: 1,
            limit: Some(10),
            fine: 0.0,
        };
        cache_patron(&mut c, &row).expect("cache");
        let back = cached_patron(&c, "P").expect("read").expect("row");
        let hash = back.pin_hash.expect("hash");
        assert!(!hash.contains("1234"));
        assert!(crate::config::verify_pin("1234", &hash));
        assert!(!crate::config::verify_pin("4321", &hash));
    }
}
