//! Prefixed, sortable identifiers (`prefix_` + ULID).

/// The prefixes of every kind of id Leadwire issues.
pub mod prefix {
    pub const ORG: &str = "org";
    pub const ORG_UNIT: &str = "ou";
    pub const MEMBER: &str = "om";
    pub const CREDENTIAL: &str = "sec";
    pub const TOKEN: &str = "pat";
    pub const AUDIT: &str = "aud";
    pub const LEAD: &str = "ld";
    pub const EVENT: &str = "ev";
    pub const RULESET: &str = "rs";
    pub const RULE: &str = "rl";
    pub const INORGANIC_FILTER: &str = "flt";
    pub const METADATA_FILTER: &str = "mf";
    pub const DECAY: &str = "dc";
    pub const LEVEL: &str = "lv";
    pub const LEVEL_HISTORY: &str = "lvh";
    pub const PROFILE_RULESET: &str = "prs";
    pub const PROFILE_RULE: &str = "prl";
    pub const PROFILE_MAPPING: &str = "pm";
    pub const MAPPING_CHANGE: &str = "pmc";
    pub const ACCOUNT: &str = "acct";
    pub const ACCOUNT_RULESET: &str = "ars";
    pub const ACCOUNT_RULE: &str = "arl";
    pub const REP: &str = "rep";
    pub const DEAL: &str = "dl";
    pub const ROUTING_EXAMPLE: &str = "rx";
    pub const PREDICTION: &str = "pr";
    pub const ROUTING_ASSIGNMENT: &str = "ra";
}

/// A new id `prefix_ULID`; ids made later sort after ids made earlier.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}

/// Whether `id` looks like an id Leadwire could have issued or a client supplied:
/// 1–128 characters of `[A-Za-z0-9_.:@-]`. Anything else can never name a record.
pub fn is_plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_sortable() {
        let a = new_id(prefix::LEAD);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id(prefix::LEAD);
        assert!(a.starts_with("ld_"));
        assert_eq!(a.len(), 3 + 26);
        assert!(a < b);
    }

    #[test]
    fn implausible_ids_are_rejected() {
        assert!(is_plausible_id("ou_01JABC"));
        assert!(!is_plausible_id(""));
        assert!(!is_plausible_id("a b"));
        assert!(!is_plausible_id("x;DELETE"));
        assert!(!is_plausible_id(&"a".repeat(129)));
    }
}
