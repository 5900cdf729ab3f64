//! Accounts: the companies leads belong to (account-based marketing). An account has a
//! name, an optional primary domain and metadata; leads link to it by `account_id`. The
//! account list aggregates its leads live: top score, lead count, the top lead's owner,
//! last activity, and whether any lead surged in the last 24 hours.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::{validate, DomainError};

/// A stored account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Account {
    pub account_id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub name: String,
    pub domain: Option<String>,
    #[schema(value_type = Object)]
    #[cfg_attr(
        feature = "graphql",
        graphql(
            skip,
            derived(
                name = "metadata",
                into = "async_graphql::Json<Map<String, Value>>",
                with = "async_graphql::Json",
                owned
            )
        )
    )]
    pub metadata: Map<String, Value>,
    /// Set when the account was merged into another (it is archived).
    pub merged_into: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// An account's properties for account rules: its metadata plus `name` and `domain`.
pub fn properties(a: &Account) -> Map<String, Value> {
    let mut p = a.metadata.clone();
    p.insert("name".into(), Value::String(a.name.clone()));
    if let Some(d) = &a.domain {
        p.insert("domain".into(), Value::String(d.clone()));
    }
    p
}

/// Checks and normalises a domain: lower-case, no scheme, path or `www.`; labels of
/// letters, digits and `-`, at least one dot.
pub fn normalise_domain(field: &str, raw: &str) -> Result<String, DomainError> {
    let mut d = raw.trim().to_lowercase();
    for prefix in ["https://", "http://"] {
        if let Some(rest) = d.strip_prefix(prefix) {
            d = rest.to_string();
        }
    }
    if let Some(i) = d.find('/') {
        d.truncate(i);
    }
    let d = d.strip_prefix("www.").unwrap_or(&d).to_string();
    let ok = d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(d)
    } else {
        Err(DomainError::invalid(
            field,
            "is not a domain name (like acme.com)",
        ))
    }
}

/// `POST /v1/accounts`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// 1–200 characters.
    pub name: String,
    /// The primary domain (unique within the OU).
    pub domain: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

/// `PATCH /v1/accounts/{id}`: name and domain replace (`domain: null` clears it);
/// metadata merges (`null` removes a key). `null` for the name or the whole metadata is
/// refused.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

impl AccountPatch {
    pub fn apply(&self, a: &mut Account) -> Result<(), DomainError> {
        let mut next = a.clone();
        if let Some(n) = &self.name {
            next.name = validate::name("name", n, 1, 200)?;
        }
        match &self.domain {
            Some(Some(d)) => next.domain = Some(normalise_domain("domain", d)?),
            Some(None) => next.domain = None,
            None => {}
        }
        if let Some(m) = &self.metadata {
            for (k, v) in m {
                if v.is_null() {
                    next.metadata.remove(k);
                } else {
                    next.metadata.insert(k.clone(), v.clone());
                }
            }
            crate::events::check_metadata_size(&next.metadata)?;
        }
        *a = next;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum IntentLevel {
    #[default]
    All,
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum AccountSort {
    Name,
    #[default]
    Score,
    Engagement,
    LastActivity,
    OwnerName,
}

/// `GET /v1/accounts` query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountListParams {
    /// From 1 (default 1).
    pub page: Option<u32>,
    /// 1–500 (default 50).
    pub limit: Option<u32>,
    /// all, today, yesterday, last_24h, last_7d, last_30d, last_90d (account created_at).
    pub range: Option<crate::leads::CreatedRange>,
    /// In the name or domain (case-insensitive).
    pub search: Option<String>,
    /// all, low (top score < 40), medium (40–79), high (≥ 80).
    pub intent_level: Option<IntentLevel>,
    /// name, score (default), engagement (sum of lead scores), last_activity, owner_name.
    pub sort_by: Option<AccountSort>,
    /// asc or desc (default).
    pub sort_order: Option<String>,
    /// The name of an account level the top score is at.
    pub account_level: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::finite")]
    pub min_score: Option<f64>,
    /// Part of the top lead's owner name (case-insensitive).
    pub owner_name: Option<String>,
    /// Only accounts with at least one (counted) lead.
    pub has_leads: Option<bool>,
    /// Count disqualified leads too (default false).
    pub include_disqualified: Option<bool>,
}

/// One row of the account list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct AccountSummary {
    pub account_id: String,
    pub name: String,
    pub domain: Option<String>,
    /// The highest score of its leads (the account's score until account scoring).
    pub top_score: f64,
    /// The sum of its leads' scores.
    pub engagement: f64,
    pub leads_count: u64,
    /// The owner of the top-scoring lead.
    pub owner_name: Option<String>,
    pub last_activity: Option<String>,
    /// Any of its leads reached a surge band in the last 24 hours.
    pub surging: bool,
    pub intent_level: String,
    pub account_level: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct AccountPage {
    pub accounts: Vec<AccountSummary>,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

/// The intent level of a top score.
pub fn intent_level(top_score: f64) -> &'static str {
    if top_score >= 80.0 {
        "high"
    } else if top_score >= 40.0 {
        "medium"
    } else {
        "low"
    }
}

/// `GET /v1/accounts/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountDetail {
    #[serde(flatten)]
    pub account: Account,
    pub top_score: f64,
    pub leads: Vec<crate::leads::Lead>,
    /// The 20 newest events of its leads.
    pub recent_events: Vec<crate::events::StoredEvent>,
}

/// `POST /v1/accounts/{id}/merge`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountMergeInput {
    pub target_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountMergeResult {
    pub leads_reassigned: u64,
    /// Deals come with deal scoring; always 0 until then.
    pub deals_reassigned: u64,
}

/// `POST /v1/accounts/batch-delete`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountIdsInput {
    /// 1–500 account ids.
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountsDeleted {
    pub leads_unlinked: u64,
    pub accounts_deleted: u64,
    /// Ids that name no account of this OU.
    pub missing: Vec<String>,
}

/// `GET /v1/accounts/search` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountMatch {
    pub account_id: String,
    pub name: String,
    pub domain: Option<String>,
    /// 0–1: the better of Jaro-Winkler and token-set ratio.
    pub similarity: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountMatches {
    pub matches: Vec<AccountMatch>,
}

/// At most this many fuzzy matches, above this similarity.
pub const MAX_MATCHES: usize = 5;
pub const MIN_SIMILARITY: f64 = 0.6;

fn clean(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Jaro-Winkler similarity (0–1) of two strings, prefix scale 0.1 over up to 4 chars.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_match = vec![false; a.len()];
    let mut b_match = vec![false; b.len()];
    let mut matches = 0usize;
    for (i, ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_match[j] && b[j] == *ca {
                a_match[i] = true;
                b_match[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let a_seq = a.iter().zip(&a_match).filter(|(_, m)| **m).map(|(c, _)| c);
    let b_seq = b.iter().zip(&b_match).filter(|(_, m)| **m).map(|(c, _)| c);
    let transpositions = a_seq.zip(b_seq).filter(|(x, y)| x != y).count() / 2;
    let m = matches as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions as f64) / m) / 3.0;
    let prefix = a.iter().zip(&b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

/// Levenshtein ratio (0–1): 1 − distance / longer length.
fn ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    1.0 - prev[b.len()] as f64 / longest as f64
}

/// Token-set ratio (0–1): compares the shared words with each side's whole word set, so
/// "Salesforce" and "Salesforce LLC" score 1.
pub fn token_set_ratio(a: &str, b: &str) -> f64 {
    let ta: BTreeSet<&str> = a.split_whitespace().collect();
    let tb: BTreeSet<&str> = b.split_whitespace().collect();
    let common: Vec<&str> = ta.intersection(&tb).copied().collect();
    let only_a: Vec<&str> = ta.difference(&tb).copied().collect();
    let only_b: Vec<&str> = tb.difference(&ta).copied().collect();
    let base = common.join(" ");
    let join = |rest: &[&str]| {
        [base.as_str(), &rest.join(" ")]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (sa, sb) = (join(&only_a), join(&only_b));
    if !base.is_empty() && (only_a.is_empty() || only_b.is_empty()) {
        return 1.0;
    }
    ratio(&base, &sa)
        .max(ratio(&base, &sb))
        .max(ratio(&sa, &sb))
}

/// How alike two company names are (0–1), ignoring case and punctuation.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (clean(a), clean(b));
    jaro_winkler(&a, &b).max(token_set_ratio(&a, &b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_names() {
        assert!((jaro_winkler("martha", "marhta") - 0.9611).abs() < 1e-3);
        assert_eq!(name_similarity("Salesforce LLC", "salesforce"), 1.0);
        assert!(name_similarity("Acme Corp.", "ACME Corporation") > 0.8);
        assert!(name_similarity("Acme", "Globex") < 0.6);
        assert_eq!(token_set_ratio("", ""), 1.0);
    }

    #[test]
    fn domains_are_normalised() {
        assert_eq!(
            normalise_domain("d", "https://WWW.Acme.com/x").unwrap(),
            "acme.com"
        );
        assert!(normalise_domain("d", "acme").is_err());
        assert!(normalise_domain("d", "ac me.com").is_err());
        assert!(normalise_domain("d", "-acme.com").is_err());
    }

    #[test]
    fn metadata_patch_removes_nulls() {
        let mut a = Account {
            account_id: "acct".into(),
            org_id: "o".into(),
            unit_id: "u".into(),
            name: "Acme".into(),
            domain: None,
            metadata: serde_json::json!({"tier": 1, "region": "EU"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            merged_into: None,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let p: AccountPatch =
            serde_json::from_value(serde_json::json!({"metadata": {"tier": null, "size": 5}}))
                .unwrap();
        p.apply(&mut a).unwrap();
        assert_eq!(
            serde_json::Value::Object(a.metadata.clone()),
            serde_json::json!({"region": "EU", "size": 5})
        );
        let bad: AccountPatch =
            serde_json::from_value(serde_json::json!({"name": "", "metadata": {"x": 1}})).unwrap();
        assert!(bad.apply(&mut a).is_err());
        assert!(
            !a.metadata.contains_key("x"),
            "a refused patch changes nothing"
        );
    }
}
