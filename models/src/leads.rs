//! Leads as the API shows them, and the checks on lead input.

use std::collections::BTreeMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::page::{PageParams, PageRequest};
use crate::time::Timestamp;
use crate::{ids, DomainError};

/// A lead (kenbun field names). `score` is the highest current score across the OU's
/// rulesets; `scores` has each ruleset's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "LeadFields")
)]
pub struct Lead {
    #[serde(alias = "lead_id")]
    pub id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub account_id: Option<String>,
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub merged_into: Option<String>,
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
    pub score: f64,
    pub scores: BTreeMap<String, f64>,
    pub last_event_at: Option<String>,
    pub last_event_type: Option<String>,
    pub score_reset_at: Option<String>,
    /// The engagement level the score is at (none when no level holds it).
    pub level: Option<crate::levels::LevelRef>,
    /// The primary profile ruleset's score (0 without profile rulesets).
    #[serde(default)]
    pub profile_score: f64,
    /// Each enabled profile ruleset's score.
    #[serde(default)]
    pub profile_scores: BTreeMap<String, f64>,
    /// A hard_disqualify rule holds for the lead: lists and counts leave it out unless
    /// `include_disqualified=true`, and its "why" is the disqualification.
    #[serde(default)]
    pub disqualified: bool,
    pub disqualification: Option<crate::profile::Disqualification>,
    /// The primary account ruleset's score over the lead's account (0 without one).
    #[serde(default)]
    pub account_score: f64,
    /// The profile and account levels of those scores.
    pub profile_level: Option<crate::levels::LevelRef>,
    pub account_level: Option<crate::levels::LevelRef>,
    /// Inactivity deductions up to this time are on the timeline (internal).
    #[serde(default, skip_serializing)]
    #[schema(ignore)]
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub decay_logged_at: Option<String>,
}

/// The answer to a change asked of a lead that was merged away: 409 naming the lead its
/// history went to (`details.merged_into`), where the change belongs.
pub fn merged_away(lead_id: &str, target: &str) -> DomainError {
    DomainError::conflict(format!(
        "lead {lead_id} was merged into {target}; act on {target}"
    ))
    .with_details(serde_json::json!({ "lead_id": lead_id, "merged_into": target }))
}

impl Lead {
    /// The record of a lead merged away as it reads: its events and aliases went to the
    /// lead it was merged into, so it holds no score (its stored one is from before the
    /// merge).
    pub fn as_merged_record(mut self) -> Lead {
        self.score = 0.0;
        self.scores.clear();
        self.level = None;
        self.profile_score = 0.0;
        self.profile_scores.clear();
        self.account_score = 0.0;
        self.profile_level = None;
        self.account_level = None;
        self
    }

    /// A new lead with no owner, account, events or score, created at `at`.
    pub fn new(org_id: &str, ou_id: &str, id: &str, at: &str) -> Lead {
        Lead {
            id: id.to_string(),
            org_id: org_id.to_string(),
            unit_id: ou_id.to_string(),
            account_id: None,
            owner_id: None,
            owner_name: None,
            created_at: at.to_string(),
            updated_at: at.to_string(),
            merged_into: None,
            metadata: Map::new(),
            score: 0.0,
            scores: BTreeMap::new(),
            last_event_at: None,
            last_event_type: None,
            score_reset_at: None,
            level: None,
            profile_score: 0.0,
            profile_scores: BTreeMap::new(),
            disqualified: false,
            disqualification: None,
            account_score: 0.0,
            profile_level: None,
            account_level: None,
            decay_logged_at: None,
        }
    }
}

/// `POST /v1/leads`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    /// The client's own id for the lead, kept as given; one is made when absent.
    pub id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    pub account_id: Option<String>,
}

/// A lead to create, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLead {
    pub id: String,
    pub metadata: Map<String, Value>,
    pub account_id: Option<String>,
}

impl LeadInput {
    pub fn validate(self) -> Result<NewLead, DomainError> {
        let id = match self.id {
            Some(id) if !ids::is_plausible_id(&id) => {
                return Err(DomainError::invalid(
                    "id",
                    "must be 1-128 characters of letters, digits and _ - . : @",
                ))
            }
            Some(id) => id,
            None => ids::new_id(ids::prefix::LEAD),
        };
        let metadata = self.metadata.unwrap_or_default();
        check_lead_metadata(&metadata)?;
        if let Some(a) = &self.account_id {
            check_account_id(a)?;
        }
        let account_id = self.account_id;
        Ok(NewLead {
            id,
            metadata,
            account_id,
        })
    }
}

/// `GET /v1/leads/{id}/score`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeadScore {
    pub lead_id: String,
    pub score: f64,
    /// The ruleset asked for, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ruleset_id: Option<String>,
    pub disqualified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disqualified_by_rule_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disqualified_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disqualified_reason: Option<String>,
    /// The primary profile ruleset's score.
    pub profile_score: f64,
    /// The engagement level of the lead's score (of the highest across rulesets; null
    /// without one, and when one ruleset's score was asked for).
    pub level: Option<crate::levels::LevelRef>,
}

/// `GET /v1/leads/{id}`: the lead and its account (null until the lead has one that
/// exists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeadWithAccount {
    pub lead: Lead,
    #[schema(value_type = Option<Object>)]
    pub account: Option<Value>,
}

/// `PUT /v1/leads/{id}`: replaces the metadata; `account_id` is changed only when sent
/// (`null` unlinks).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadUpdate {
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub account_id: Option<Option<String>>,
}

impl LeadUpdate {
    pub fn validate(&self) -> Result<(), DomainError> {
        check_lead_metadata(&self.metadata)?;
        if let Some(Some(a)) = &self.account_id {
            check_account_id(a)?;
        }
        Ok(())
    }
}

fn check_account_id(a: &str) -> Result<(), DomainError> {
    if ids::is_plausible_id(a) {
        Ok(())
    } else {
        Err(DomainError::invalid("account_id", "not a valid account id"))
    }
}

/// A lead's metadata as written through the API (create, replace, patch): within the
/// size and depth limits, its keys as [`check_attribute_keys`] says.
pub fn check_lead_metadata(metadata: &Map<String, Value>) -> Result<(), DomainError> {
    crate::events::check_metadata_size(metadata)?;
    check_attribute_keys("metadata", metadata)
}

/// Metadata keys written through the API: 1–64 characters of letters, digits, `_`, `-`,
/// `.` or spaces.
pub fn check_attribute_keys(field: &str, attrs: &Map<String, Value>) -> Result<(), DomainError> {
    for k in attrs.keys() {
        let ok = (1..=64).contains(&k.chars().count())
            && k.chars().all(|c| c.is_alphanumeric() || "_-. ".contains(c));
        if !ok {
            return Err(DomainError::invalid(
                &format!("{field}.{k}"),
                "keys must be 1-64 characters of letters, digits, _ - . or space",
            ));
        }
    }
    Ok(())
}

/// A named window over `created_at` (`range=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum CreatedRange {
    All,
    Today,
    Yesterday,
    #[serde(rename = "last_24h")]
    #[cfg_attr(feature = "graphql", graphql(name = "LAST_24H"))]
    Last24h,
    #[serde(rename = "last_7d")]
    #[cfg_attr(feature = "graphql", graphql(name = "LAST_7D"))]
    Last7d,
    #[serde(rename = "last_30d")]
    #[cfg_attr(feature = "graphql", graphql(name = "LAST_30D"))]
    Last30d,
    #[serde(rename = "last_90d")]
    #[cfg_attr(feature = "graphql", graphql(name = "LAST_90D"))]
    Last90d,
}

impl CreatedRange {
    /// `[from, to)` at `now`; `None` for all time.
    pub fn bounds(self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let midnight = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map(|m| m.and_utc())
            .unwrap_or(now);
        let far = now + Duration::days(1);
        Some(match self {
            CreatedRange::All => return None,
            CreatedRange::Today => (midnight, far),
            CreatedRange::Yesterday => (midnight - Duration::days(1), midnight),
            CreatedRange::Last24h => (now - Duration::hours(24), far),
            CreatedRange::Last7d => (now - Duration::days(7), far),
            CreatedRange::Last30d => (now - Duration::days(30), far),
            CreatedRange::Last90d => (now - Duration::days(90), far),
        })
    }
}

/// Lead list sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum LeadSortBy {
    Score,
    CreatedAt,
    UpdatedAt,
    LastEventAt,
    Id,
}

impl LeadSortBy {
    /// The stored column it sorts by.
    pub fn column(self) -> &'static str {
        match self {
            LeadSortBy::Score => "score",
            LeadSortBy::CreatedAt => "created_at",
            LeadSortBy::UpdatedAt => "updated_at",
            LeadSortBy::LastEventAt => "last_event_at",
            LeadSortBy::Id => "lead_id",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum SortOrder {
    Asc,
    Desc,
}

/// `GET /v1/leads` and `GET /v1/leads/export` filters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::InputObject),
    graphql(name = "LeadFilter")
)]
pub struct LeadListParams {
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Leads per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// Created in this window.
    pub range: Option<CreatedRange>,
    /// Minimum (materialised) score.
    #[serde(default, deserialize_with = "crate::validate::finite")]
    pub min_score: Option<f64>,
    /// Maximum (materialised) score.
    #[serde(default, deserialize_with = "crate::validate::finite")]
    pub max_score: Option<f64>,
    /// The type of the lead's last event.
    pub event_type: Option<String>,
    /// `any`, `7d` or `30d`: last event within that many days.
    pub last_active: Option<String>,
    /// Include disqualified leads (default false).
    pub include_disqualified: Option<bool>,
    /// Lead id prefix or alias value (≥ 2 characters).
    pub search: Option<String>,
    /// The name of the lead's engagement level (case-insensitive).
    pub engagement_level: Option<String>,
    /// The name of the lead's profile level (case-insensitive).
    pub profile_level: Option<String>,
    /// The name of the lead's account level (case-insensitive).
    pub account_level: Option<String>,
    /// Sort key (default `score`).
    pub sort_by: Option<LeadSortBy>,
    /// `asc` or `desc` (default `desc`).
    pub sort_order: Option<SortOrder>,
}

/// Checked lead list filters.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadFilter {
    pub page: PageRequest,
    pub created: Option<(Timestamp, Timestamp)>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    pub event_type: Option<String>,
    pub active_since: Option<Timestamp>,
    pub include_disqualified: bool,
    /// Lower-cased search text.
    pub search: Option<String>,
    /// Lower-cased level names the lead's engagement, profile and account levels must
    /// have.
    pub levels: LevelNames,
    pub sort_by: LeadSortBy,
    pub descending: bool,
}

/// Level names a lead list is filtered by, lower-cased.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LevelNames {
    pub engagement: Option<String>,
    pub profile: Option<String>,
    pub account: Option<String>,
}

/// A level name filter: blank means none, else 1–100 characters, lower-cased.
fn level_name(field: &str, v: Option<String>) -> Result<Option<String>, DomainError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(n) if n.chars().count() > 100 => Err(DomainError::invalid(
            field,
            "must be at most 100 characters",
        )),
        Some(n) => Ok(Some(n.to_lowercase())),
    }
}

impl LeadListParams {
    pub fn validate(self, now: Timestamp) -> Result<LeadFilter, DomainError> {
        let page = PageParams {
            page: self.page,
            limit: self.limit,
        }
        .validate()?;
        if let (Some(lo), Some(hi)) = (self.min_score, self.max_score) {
            if lo > hi {
                return Err(DomainError::invalid(
                    "min_score",
                    "must not be greater than max_score",
                ));
            }
        }
        let active_since = match self.last_active.as_deref() {
            None | Some("any") => None,
            Some(s) => {
                let days = s
                    .strip_suffix('d')
                    .and_then(|d| d.parse::<i64>().ok())
                    .filter(|d| (1..=3650).contains(d))
                    .ok_or_else(|| {
                        DomainError::invalid("last_active", "must be any, 7d, 30d or <days>d")
                    })?;
                Some(now - Duration::days(days))
            }
        };
        let search = match self.search.map(|s| s.trim().to_lowercase()) {
            Some(s) if s.is_empty() => None,
            Some(s) if s.chars().count() < 2 => {
                return Err(DomainError::invalid(
                    "search",
                    "must be at least 2 characters",
                ))
            }
            other => other,
        };
        Ok(LeadFilter {
            page,
            created: self.range.and_then(|r| r.bounds(now)),
            min_score: self.min_score,
            max_score: self.max_score,
            event_type: self.event_type.filter(|e| !e.is_empty()),
            active_since,
            include_disqualified: self.include_disqualified.unwrap_or(false),
            search,
            levels: LevelNames {
                engagement: level_name("engagement_level", self.engagement_level)?,
                profile: level_name("profile_level", self.profile_level)?,
                account: level_name("account_level", self.account_level)?,
            },
            sort_by: self.sort_by.unwrap_or(LeadSortBy::Score),
            descending: self.sort_order != Some(SortOrder::Asc),
        })
    }
}

/// A page of leads (`GET /v1/leads`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeadPage {
    pub leads: Vec<Lead>,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

/// `PUT /v1/leads/{id}/owner`: `owner_id` is required, `null` unassigns.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerInput {
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<String>>,
    pub owner_name: Option<String>,
}

/// `POST /v1/leads/bulk-owner`: `owner_id` is required, `null` unassigns.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkOwnerInput {
    pub lead_ids: Vec<String>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<String>>,
    pub owner_name: Option<String>,
}

/// The owner an owner change names: a member or rep id, or none (`null`) to unassign.
/// A body without `owner_id` is refused: an empty body must not unassign. So are an empty
/// id, and an `owner_name` beside `null` (a name for nobody would be dropped).
pub fn owner_named(
    owner_id: Option<Option<String>>,
    owner_name: Option<&str>,
) -> Result<Option<String>, DomainError> {
    match owner_id {
        None => Err(DomainError::invalid(
            "owner_id",
            "required: a member or rep id, or null to unassign",
        )),
        Some(Some(id)) if id.trim().is_empty() => Err(DomainError::invalid(
            "owner_id",
            "must not be empty: a member or rep id, or null to unassign",
        )),
        Some(None) if owner_name.is_some() => Err(DomainError::invalid(
            "owner_name",
            "must be left out when owner_id is null (unassigning)",
        )),
        Some(owner) => Ok(owner),
    }
}

/// The most leads one bulk request may name.
pub const MAX_BULK_LEADS: usize = 500;

/// Checks a list of lead ids: 1..=`max`, each plausible; duplicates removed, order kept.
pub fn check_lead_ids(
    field: &str,
    ids_in: &[String],
    max: usize,
) -> Result<Vec<String>, DomainError> {
    if ids_in.is_empty() || ids_in.len() > max {
        return Err(DomainError::invalid(
            field,
            format!("must list 1-{max} lead ids"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids_in.len());
    for (i, id) in ids_in.iter().enumerate() {
        if !ids::is_plausible_id(id) {
            return Err(DomainError::invalid(
                &format!("{field}[{i}]"),
                "not a valid lead id",
            ));
        }
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// `{"status":"ok","affected":N}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Affected {
    pub status: String,
    pub affected: u64,
}

/// One alias of a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct LeadAlias {
    pub alias_kind: crate::events::AliasKind,
    pub value: String,
    pub created_at: String,
}

/// `GET /v1/leads/lookup`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LookupParams {
    /// Alias kind (default `email`).
    pub kind: Option<crate::events::AliasKind>,
    /// The alias value, e.g. an email address.
    pub value: String,
}

/// The lead an alias names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LookupResult {
    pub lead_id: String,
    /// The lead's first email alias, if any.
    pub email: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
}

/// `POST /v1/leads/update-by-alias`: merge attributes into metadata (no timeline entry)
/// and/or link an account.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateByAliasInput {
    pub alias_kind: Option<crate::events::AliasKind>,
    pub alias_value: String,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    pub account_id: Option<String>,
}

impl UpdateByAliasInput {
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.attributes.is_none() && self.account_id.is_none() {
            return Err(DomainError::invalid(
                "attributes",
                "send attributes, account_id or both",
            ));
        }
        if let Some(a) = &self.attributes {
            check_attribute_keys("attributes", a)?;
            crate::events::check_metadata_size(a)?;
        }
        if let Some(a) = &self.account_id {
            check_account_id(a)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpdateByAliasResult {
    pub lead_id: String,
    /// How many attributes were written.
    pub updated: usize,
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    pub account_linked: bool,
}

/// How a merge trims the combined history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum TruncatePolicy {
    /// Keep every event (default).
    #[default]
    None,
    /// Keep only the newest `max_events` events of the merged lead.
    KeepLatest,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TruncateInput {
    #[serde(default)]
    pub policy: TruncatePolicy,
    pub max_events: Option<u32>,
}

/// `POST /v1/leads/merge`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MergeInput {
    pub target_lead_id: String,
    pub source_lead_ids: Vec<String>,
    pub truncate: Option<TruncateInput>,
}

/// The most sources one merge may name.
pub const MAX_MERGE_SOURCES: usize = 50;

/// A checked merge.
#[derive(Debug, Clone, PartialEq)]
pub struct MergePlan {
    pub target: String,
    pub sources: Vec<String>,
    /// Keep at most this many (newest) events; `None` keeps all.
    pub keep_latest: Option<u32>,
}

impl MergeInput {
    pub fn validate(self) -> Result<MergePlan, DomainError> {
        if !ids::is_plausible_id(&self.target_lead_id) {
            return Err(DomainError::invalid("targetLeadId", "not a valid lead id"));
        }
        let sources = check_lead_ids("sourceLeadIds", &self.source_lead_ids, MAX_MERGE_SOURCES)?;
        if sources.contains(&self.target_lead_id) {
            return Err(DomainError::invalid(
                "sourceLeadIds",
                "must not contain the target lead",
            ));
        }
        let t = self.truncate.unwrap_or_default();
        let keep_latest = match (t.policy, t.max_events) {
            (TruncatePolicy::None, None) => None,
            (TruncatePolicy::None, Some(_)) => {
                return Err(DomainError::invalid(
                    "truncate.max_events",
                    "only applies with policy keep_latest",
                ))
            }
            (TruncatePolicy::KeepLatest, Some(n)) if n >= 1 => Some(n),
            (TruncatePolicy::KeepLatest, _) => {
                return Err(DomainError::invalid(
                    "truncate.max_events",
                    "keep_latest needs max_events of 1 or more",
                ))
            }
        };
        Ok(MergePlan {
            target: self.target_lead_id,
            sources,
            keep_latest,
        })
    }
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeResult {
    pub target: Lead,
    pub merged_sources: Vec<String>,
    pub moved_events: u64,
    pub moved_aliases: u64,
    pub truncated_events: u64,
    pub rescore: RescoreSummary,
}

/// A lead's scores before and after a rescore, per ruleset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct RescoreSummary {
    pub before: BTreeMap<String, f64>,
    pub after: BTreeMap<String, f64>,
}

/// `POST /v1/leads/{id}/reset-score`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct ResetResult {
    pub status: String,
    pub lead_id: String,
    pub previous_scores: BTreeMap<String, f64>,
    pub reset_at: String,
}

/// `GET /v1/leads/{id}/deletion-status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeletionStatus {
    pub lead_id: String,
    /// `completed` once the lead, its aliases and events are gone.
    pub status: String,
    pub requested_at: String,
    pub completed_at: Option<String>,
    pub deleted_events: u64,
    pub deleted_aliases: u64,
}

/// `POST /v1/leads/scores`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchScoresInput {
    pub lead_ids: Vec<String>,
    /// `primary` (default) or a ruleset id or name.
    pub ruleset: Option<String>,
}
