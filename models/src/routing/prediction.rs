//! Predictions: which rep the model picks for a lead or a deal, how sure it is, the
//! alternatives and the features behind the pick.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::FeatureContribution;
use crate::time::{self, Timestamp};
use crate::{DomainError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityType {
    Lead,
    Opportunity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PredictionStatus {
    Pending,
    Accepted,
    Overridden,
}

/// What made the prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PredictionTrigger {
    OnDemand,
    LeadCreated,
    LevelReached,
    ScoreThreshold,
}

/// An eligible rep and its estimated conversion chance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alternative {
    pub rep_id: String,
    pub rep_name: String,
    /// The estimated chance the lead converts with this rep (0–1).
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Prediction {
    pub prediction_id: String,
    #[serde(rename = "entityType")]
    pub entity_type: EntityType,
    #[serde(rename = "entityId")]
    pub entity_id: String,
    /// The lead routed (a deal's lead for an OPPORTUNITY).
    pub lead_id: String,
    pub predicted_rep_id: String,
    pub predicted_rep_name: String,
    /// The picked rep's estimated conversion chance (0–1).
    pub confidence: f64,
    /// Every eligible rep, best first (the pick included).
    pub alternatives: Vec<Alternative>,
    /// The features that most set the pick apart from the other eligible reps.
    pub top_features: Vec<FeatureContribution>,
    pub status: PredictionStatus,
    /// Who the lead went to once routed or overridden.
    #[serde(rename = "assignedTo")]
    pub assigned_to: Option<String>,
    pub override_reason: Option<String>,
    pub model_version: u32,
    pub trigger: PredictionTrigger,
    pub created_at: String,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
}

/// `POST /v1/predictive-routing/predictions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictionRequest {
    #[serde(rename = "entityType")]
    pub entity_type: EntityType,
    #[serde(rename = "entityId")]
    pub entity_id: String,
}

/// `GET /v1/predictive-routing/predictions` query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PredictionListParams {
    pub status: Option<PredictionStatus>,
    #[serde(rename = "entityType")]
    #[param(rename = "entityType")]
    pub entity_type: Option<EntityType>,
    /// The rep the prediction's lead was assigned to.
    #[serde(rename = "assignedTo")]
    #[param(rename = "assignedTo")]
    pub assigned_to: Option<String>,
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Predictions per page, 1–500 (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PredictionPage {
    pub predictions: Vec<Prediction>,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

/// `POST /v1/predictive-routing/predictions/{id}/override`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    /// The rep of the org unit who gets the lead instead.
    #[serde(rename = "assignedTo")]
    pub assigned_to: String,
    /// Why (1–500 characters); kept with the prediction.
    pub reason: String,
}

/// How a lead came to its rep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentOrigin {
    /// A prediction was routed (by a person, or automatically above the configured
    /// confidence).
    Route,
    /// A person overrode a prediction.
    Override,
    /// A person made a rep the lead's owner (`PUT /v1/leads/{id}/owner`, bulk owner).
    Manual,
}

/// What became of an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentOutcome {
    /// The conversion window is still open.
    Pending,
    /// A conversion event or a won deal came within the window: a positive example.
    Converted,
    /// The window closed without a conversion: a negative example.
    NotConverted,
    /// The lead went to another rep (or to nobody) before an outcome: no example.
    Reassigned,
}

/// A lead given to a rep: with its outcome it becomes a training example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoutingAssignment {
    pub assignment_id: String,
    /// The prediction it resolved (none for a manual assignment).
    pub prediction_id: Option<String>,
    pub lead_id: String,
    pub rep_id: String,
    #[serde(default)]
    pub rep_name: String,
    pub origin: AssignmentOrigin,
    /// Who the model picked, and how sure it was (predictions only).
    pub predicted_rep_id: Option<String>,
    pub confidence: Option<f64>,
    pub override_reason: Option<String>,
    /// The member who assigned (`system` for automatic routing).
    #[serde(default)]
    pub assigned_by: String,
    /// The lead as it was when assigned (what the model learns from).
    pub lead: super::config::LeadSnapshot,
    pub assigned_at: String,
    /// A conversion after this no longer counts for this assignment.
    #[serde(default)]
    pub window_ends_at: String,
    pub outcome: AssignmentOutcome,
    pub decided_at: Option<String>,
    /// What converted it: `event:<id>` or `deal:<id>`.
    pub converted_by: Option<String>,
}

/// `GET /v1/predictive-routing/history` query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Assignments per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// Assigned at or after: RFC 3339, or a date (`2026-11-01`, from its start, UTC).
    #[serde(rename = "startDate")]
    #[param(rename = "startDate")]
    pub start_date: Option<String>,
    /// Assigned at or before: RFC 3339, or a date (`2026-11-30`, to its end, UTC).
    #[serde(rename = "endDate")]
    #[param(rename = "endDate")]
    pub end_date: Option<String>,
}

impl HistoryParams {
    /// The checked range as canonical timestamps.
    pub fn range(&self) -> Result<(Option<String>, Option<String>)> {
        let bound = |field: &str, v: &Option<String>, end: bool| -> Result<Option<Timestamp>> {
            let Some(s) = v.as_deref().map(str::trim) else {
                return Ok(None);
            };
            if let Some(t) = time::parse(s) {
                return Ok(Some(t));
            }
            let day = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                DomainError::invalid(
                    field,
                    "must be an RFC 3339 timestamp or a date (YYYY-MM-DD)",
                )
            })?;
            let t = if end {
                day.and_hms_micro_opt(23, 59, 59, 999_999)
            } else {
                day.and_hms_opt(0, 0, 0)
            };
            Ok(t.map(|t| t.and_utc()))
        };
        let start = bound("startDate", &self.start_date, false)?;
        let end = bound("endDate", &self.end_date, true)?;
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(DomainError::invalid(
                    "endDate",
                    "must not be before startDate",
                ));
            }
        }
        Ok((
            start.map(|t| time::format(&t)),
            end.map(|t| time::format(&t)),
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    /// Assignments, newest first.
    pub assignments: Vec<RoutingAssignment>,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

/// Predictions and assignments of one origin by outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutcomeCounts {
    pub pending: u64,
    pub converted: u64,
    pub not_converted: u64,
    pub reassigned: u64,
    /// converted / (converted + not_converted); null until one is decided.
    pub conversion_rate: Option<f64>,
}

impl OutcomeCounts {
    pub fn add(&mut self, outcome: AssignmentOutcome, n: u64) {
        match outcome {
            AssignmentOutcome::Pending => self.pending += n,
            AssignmentOutcome::Converted => self.converted += n,
            AssignmentOutcome::NotConverted => self.not_converted += n,
            AssignmentOutcome::Reassigned => self.reassigned += n,
        }
        self.conversion_rate = ratio(self.converted, self.converted + self.not_converted);
    }
}

/// Rounded to 4 places, as Leadwire reports chances and rates.
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// `a / b` rounded to 4 places; none when `b` is 0.
pub fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| round4(a as f64 / b as f64))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusCounts {
    #[serde(rename = "PENDING")]
    pub pending: u64,
    #[serde(rename = "ACCEPTED")]
    pub accepted: u64,
    #[serde(rename = "OVERRIDDEN")]
    pub overridden: u64,
}

/// `GET /v1/predictive-routing/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoutingStats {
    pub total_predictions: u64,
    pub by_status: StatusCounts,
    /// ACCEPTED / (ACCEPTED + OVERRIDDEN); null until one is resolved.
    pub acceptance_rate: Option<f64>,
    /// OVERRIDDEN / (ACCEPTED + OVERRIDDEN).
    pub override_rate: Option<f64>,
    /// Predictions ACCEPTED without a person (above the auto-route confidence).
    pub auto_routed: u64,
    /// Mean confidence of every prediction; null without predictions.
    pub average_confidence: Option<f64>,
    /// Accuracy of accepted predictions: how their leads turned out with the predicted
    /// rep (`conversion_rate` is the share of decided ones that converted).
    pub accepted_outcomes: OutcomeCounts,
    /// How overridden predictions' leads turned out with the rep chosen instead.
    pub overridden_outcomes: OutcomeCounts,
    /// Leads given to reps by hand, outside predictions.
    pub manual_outcomes: OutcomeCounts,
    /// Training examples the org unit has (imported and learned from outcomes).
    pub training_examples: u64,
    pub model_version: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: Option<&str>, end: Option<&str>) -> Result<(Option<String>, Option<String>)> {
        HistoryParams {
            start_date: start.map(String::from),
            end_date: end.map(String::from),
            ..HistoryParams::default()
        }
        .range()
    }

    #[test]
    fn history_dates_are_days_or_timestamps_in_order() {
        assert_eq!(
            range(Some("2026-11-01"), Some("2026-11-30")).unwrap(),
            (
                Some("2026-11-01T00:00:00.000000Z".into()),
                Some("2026-11-30T23:59:59.999999Z".into())
            )
        );
        assert_eq!(
            range(Some("2026-11-01T10:00:00+01:00"), None).unwrap(),
            (Some("2026-11-01T09:00:00.000000Z".into()), None)
        );
        assert_eq!(range(None, None).unwrap(), (None, None));
        let e = range(Some("2026-11-02"), Some("2026-11-01")).unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "endDate");
        let e = range(Some("yesterday"), None).unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "startDate");
        // the same day as both ends is that whole day
        assert!(range(Some("2026-11-01"), Some("2026-11-01")).is_ok());
    }

    #[test]
    fn rates_are_null_until_there_is_a_denominator() {
        assert_eq!(ratio(1, 0), None);
        assert_eq!(ratio(0, 3), Some(0.0));
        assert_eq!(ratio(2, 3), Some(0.6667));
        let mut c = OutcomeCounts::default();
        c.add(AssignmentOutcome::Pending, 2);
        c.add(AssignmentOutcome::Reassigned, 1);
        assert_eq!(c.conversion_rate, None, "nothing decided yet");
        c.add(AssignmentOutcome::Converted, 1);
        c.add(AssignmentOutcome::NotConverted, 3);
        assert_eq!(c.conversion_rate, Some(0.25));
        assert_eq!((c.pending, c.reassigned), (2, 1));
    }
}
