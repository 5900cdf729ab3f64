//! Per-OU settings of an event type (hidden flag, processing ceiling), deleting all
//! events of a type, and research half-life defaults for engagement rules.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::DomainError;

/// How far events of a type may be processed in an OU.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum ProcessingScope {
    /// Stored and shown on the timeline, never scored (nor activity for inactivity decay).
    Observe,
    /// Scored, but sets off no triggers or notifications.
    Decide,
    /// Scored, and may set off triggers and notifications (the default).
    #[default]
    Activate,
}

/// A stored event-type setting of an OU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventTypeSetting {
    pub event_type: String,
    pub hidden: bool,
    pub max_processing_scope: ProcessingScope,
}

/// `PUT /v1/settings/event-types/{event_type}`: either or both.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventTypeSettingInput {
    /// Hidden types are left out of `GET /v1/event-types` (their events stay).
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub hidden: Option<bool>,
    /// observe | decide | activate: the ceiling of processing in this OU.
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub max_processing_scope: Option<ProcessingScope>,
}

/// `GET /v1/settings/event-types`: a type with its setting and its events in this OU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventTypeView {
    pub event_type: String,
    pub hidden: bool,
    pub max_processing_scope: ProcessingScope,
    pub events_count: u64,
}

/// `GET /v1/settings/event-types/{event_type}/delete-preview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeletePreview {
    pub events_count: u64,
    /// Of those, the ones that earned points in some ruleset.
    pub event_scores_count: u64,
}

/// `DELETE /v1/settings/event-types/{event_type}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeletedByType {
    pub events_deleted: u64,
    pub event_scores_deleted: u64,
}

/// The research defaults: half-lives (days) practitioners use for B2B SaaS engagement
/// signals. Event types match ignoring case, spaces, `_` and `-`.
pub const HALF_LIFE_TABLE: &[(&str, u32)] = &[
    ("page view", 7),
    ("pageview", 7),
    ("website visit", 7),
    ("visit", 7),
    ("email open", 14),
    ("email opened", 14),
    ("pricing page view", 14),
    ("email click", 21),
    ("email clicked", 21),
    ("content download", 30),
    ("whitepaper download", 30),
    ("form submit", 45),
    ("form submission", 45),
    ("form fill", 45),
    ("webinar registration", 45),
    ("webinar", 60),
    ("webinar attended", 60),
    ("event attended", 60),
    ("signup", 60),
    ("sign up", 60),
    ("trial start", 60),
    ("trial started", 60),
    ("demo request", 90),
    ("demo requested", 90),
    ("meeting booked", 90),
    ("meeting", 90),
    ("contact sales", 90),
];

fn normalise(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The research half-life of an event type, if the table has one.
pub fn research_half_life(event_type: &str) -> Option<u32> {
    let n = normalise(event_type);
    HALF_LIFE_TABLE
        .iter()
        .find(|(t, _)| *t == n)
        .map(|(_, d)| *d)
}

/// One rule without a half-life, and what the research table suggests for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HalfLifeSuggestion {
    pub rule_id: String,
    pub event_type: String,
    pub suggested_half_life_days: Option<u32>,
    pub eligible: bool,
    /// Why an ineligible rule is: `no_research_default`.
    pub reason: Option<String>,
}

/// `GET /v1/rules/half-life-suggestions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HalfLifeSuggestions {
    /// How many rules "Apply research defaults" would change.
    pub eligible_count: u64,
    pub ineligible_count: u64,
    pub suggestions: Vec<HalfLifeSuggestion>,
}

/// `GET /v1/rules/half-life-suggestions` query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SuggestionQuery {
    /// engagement or all (an alias); profile, account and deal are not event-sourced (400).
    pub dimension: Option<String>,
}

impl SuggestionQuery {
    pub fn validate(&self) -> Result<(), DomainError> {
        match self.dimension.as_deref() {
            None | Some("engagement") | Some("all") => Ok(()),
            Some("profile" | "account" | "deal") => Err(DomainError::bad_request(
                "profile, account and deal rules are not event-sourced: they take no half-life",
            )),
            Some(_) => Err(DomainError::invalid(
                "dimension",
                "must be engagement or all",
            )),
        }
    }
}

/// `POST /v1/rules/half-life-suggestions/apply`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyDefaultsInput {
    /// 1–500 rule ids.
    pub rule_ids: Vec<String>,
}

/// What happened to one rule of an apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplyDefaultResult {
    pub rule_id: String,
    /// `applied` or `skipped`.
    pub status: String,
    pub half_life_days: Option<u32>,
    /// For a skip: already_configured, no_research_default, dimension_not_event_sourced,
    /// not_found, lookup_error or update_error.
    pub skip_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplyDefaultsResult {
    pub applied_count: u64,
    pub skipped_count: u64,
    pub results: Vec<ApplyDefaultResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn research_defaults_match_loosely() {
        assert_eq!(research_half_life("Page View"), Some(7));
        assert_eq!(research_half_life("page_view"), Some(7));
        assert_eq!(research_half_life("  DEMO-request "), Some(90));
        assert_eq!(research_half_life("Custom Signal"), None);
    }

    #[test]
    fn only_engagement_takes_suggestions() {
        let q = |d: &str| SuggestionQuery {
            dimension: Some(d.into()),
        };
        assert!(q("all").validate().is_ok());
        assert_eq!(
            q("profile").validate().unwrap_err().code,
            crate::ErrorCode::BadRequest
        );
        assert_eq!(
            q("weird").validate().unwrap_err().code,
            crate::ErrorCode::ValidationFailed
        );
    }
}
