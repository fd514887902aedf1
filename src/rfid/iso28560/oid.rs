//! ISO 28560-1 data elements by relative OID.

/// Relative OIDs with a dedicated field in `ItemRecord`.
pub const PRIMARY_ITEM_ID: u8 = 1;
pub const CONTENT_PARAMETER: u8 = 2;
pub const OWNER_LIBRARY: u8 = 3;
pub const SET_INFORMATION: u8 = 4;
pub const TYPE_OF_USAGE: u8 = 5;
pub const SHELF_LOCATION: u8 = 6;
pub const TITLE: u8 = 17;
/// The highest relative OID ISO 28560-1 defines.
pub const LAST: u8 = 26;

/// The ISO 28560-1 name of a relative OID.
pub fn name(oid: u8) -> &'static str {
    match oid {
        1 => "primary item identifier",
        2 => "content parameter",
        3 => "owner library (ISIL)",
        4 => "set information",
        5 => "type of usage",
        6 => "shelf location",
        7 => "ONIX media format",
        8 => "MARC media format",
        9 => "supplier identifier",
        10 => "order number",
        11 => "ILL borrowing institution (ISIL)",
        12 => "ILL borrowing transaction number",
        13 => "GS1 product identifier",
        14 => "alternative unique item identifier",
        15 => "local data A",
        16 => "local data B",
        17 => "title",
        18 => "product identifier local",
        19 => "media format (other)",
        20 => "supply chain stage",
        21 => "supplier invoice number",
        22 => "alternative item identifier",
        23 => "alternative owner library identifier",
        24 => "subsidiary of an owner library",
        25 => "alternative ILL borrowing institution",
        26 => "local data C",
        _ => "unknown data element",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_cover_the_defined_range() {
        for oid in 1..=super::LAST {
            assert_ne!(super::name(oid), "unknown data element");
        }
        assert_eq!(super::name(27), "unknown data element");
    }
}
