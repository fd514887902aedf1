//! `[delivery]`: holds delivered to the patron's home instead of picked up at the library.

use serde::{Deserialize, Serialize};

use super::Problem;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// Offer home delivery of holds on the account screen.
    pub enabled: bool,
    /// The ILS's pickup location code the library uses for deliveries (SIP2 BS).
    pub pickup_location: String,
    /// What a delivery costs, as the patron should read it (`"€2.00"`); shown before they
    /// confirm. Unset: free.
    pub fee: Option<String>,
    /// The other pickup locations a patron may move a hold to (SIP2 BS values).
    pub pickup_locations: Vec<String>,
}

impl DeliverySettings {
    pub fn problems(&self, out: &mut Vec<Problem>) {
        if self.enabled && self.pickup_location.trim().is_empty() {
            out.push(Problem {
                key: "delivery.pickup_location".into(),
                message: "missing: delivery is enabled but no ILS location code is given".into(),
            });
        }
        for location in &self.pickup_locations {
            if location.trim().is_empty() || location.contains('|') {
                out.push(Problem {
                    key: "delivery.pickup_locations".into(),
                    message: format!("\"{location}\" is not a SIP2 location (empty, or with |)"),
                });
            }
        }
        if self.pickup_location.contains('|') {
            out.push(Problem {
                key: "delivery.pickup_location".into(),
                message: "a SIP2 location cannot hold |".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<String> {
        let s: DeliverySettings = toml::from_str(text).expect("valid TOML");
        let mut out = Vec::new();
        s.problems(&mut out);
        out.into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn delivery_needs_its_location() {
        assert!(keys("").is_empty());
        assert_eq!(keys("enabled = true"), ["delivery.pickup_location"]);
        assert!(
            keys("enabled = true\npickup_location = \"Home delivery\"\nfee = \"€2.00\"").is_empty()
        );
        assert_eq!(
            keys("pickup_locations = [\"Main|x\"]"),
            ["delivery.pickup_locations"]
        );
        assert!(toml::from_str::<DeliverySettings>("cost = 1").is_err());
    }
}
