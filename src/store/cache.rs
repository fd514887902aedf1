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

/// Cost of a patron PIN verifier: argon2id with 19 MiB of memory (m = 19456 KiB), two passes
/// (t = 2), one lane (p = 1). That is tens of milliseconds on a Raspberry Pi 4 per guess, once
/// per offline PIN check for a patron, and it makes every guess of an offline brute force
/// (someone holding a copy of the SD card) cost the same.
pub const PIN_VERIFIER_M_KIB: u32 = 19_456;
pub const PIN_VERIFIER_T: u32 = 2;
pub const PIN_VERIFIER_P: u32 = 1;

/// A PIN's verifier for the patron cache: argon2id at the cost above with a random salt of its
/// own (each row has its own), in PHC form. Checked offline; the PIN is never stored in clear.
pub fn pin_verifier(pin: &str) -> Option<String> {
    use argon2::password_hash::PasswordHasher;
    let params =
        argon2::Params::new(PIN_VERIFIER_M_KIB, PIN_VERIFIER_T, PIN_VERIFIER_P, None).ok()?;
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(pin.as_bytes())
        .ok()
        .map(|h| h.to_string())
}

/// Whether `pin` matches a cached verifier. Anything but an argon2id verifier is refused.
pub fn pin_matches(pin: &str, verifier: &str) -> bool {
    verifier.starts_with("$argon2id$") && crate::config::verify_pin(pin, verifier)
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

/// Delete cached patrons not seen online for `days` days, with their PIN verifiers: a card
/// not used for that long is not lent on offline, and its verifier is not kept to be guessed
/// at. Returns the rows deleted.
pub fn purge_patrons_older_than(c: &rusqlite::Connection, days: u32) -> Result<usize, StoreError> {
    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    purge_patrons_before(
        c,
        &cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

/// Delete cached patrons last updated before `cutoff` (RFC 3339, as the rows are stamped).
pub fn purge_patrons_before(c: &rusqlite::Connection, cutoff: &str) -> Result<usize, StoreError> {
    Ok(c.execute("DELETE FROM patron_cache WHERE updated_at < ?1", [cutoff])?)
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

    fn row(id: &str, pin: Option<&str>) -> PatronCacheRow {
        PatronCacheRow {
            patron_id: id.into(),
            pin_hash: pin.and_then(pin_verifier),
            valid: true,
            flags: " ".repeat(14),
            charged: 0,
            limit: None,
            fine: 0.0,
        }
    }

    #[test]
    fn verifiers_are_argon2id_at_the_stated_cost_with_a_salt_each() {
        let a = pin_verifier("4711").expect("verifier");
        let b = pin_verifier("4711").expect("verifier");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each verifier has its own salt");
        assert!(pin_matches("4711", &a) && pin_matches("4711", &b));
        assert!(!pin_matches("4712", &a));
        // Another scheme's hash (or a cheaper argon2 variant) is not accepted as a verifier.
        let argon2i = a.replacen("$argon2id$", "$argon2i$", 1);
        assert!(!pin_matches("4711", &argon2i));
        assert!(!pin_matches("4711", ""));
    }

    #[test]
    fn patrons_not_seen_for_the_cache_days_are_purged() {
        let mut c = crate::store::open_in_memory().expect("db");
        cache_patron(&mut c, &row("OLD", Some("1111"))).expect("cache");
        cache_patron(&mut c, &row("NEW", Some("2222"))).expect("cache");
        c.execute(
            "UPDATE patron_cache SET updated_at = '2020-01-01T00:00:00.000Z' WHERE patron_id = 'OLD'",
            [],
        )
        .expect("backdate");
        assert_eq!(purge_patrons_older_than(&c, 30).expect("purge"), 1);
        assert!(cached_patron(&c, "OLD").expect("read").is_none());
        assert!(cached_patron(&c, "NEW").expect("read").is_some());
        // The fresh row stays.
        assert_eq!(purge_patrons_older_than(&c, 30).expect("purge"), 0);
    }
}
