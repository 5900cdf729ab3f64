//! Predictions: which rep the model picks for a lead or a deal, how sure it is, the
//! alternatives and the features behind the pick.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::FeatureContribution;

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

/// How a lead came to its rep through predictive routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentOrigin {
    Route,
    Override,
}

/// A lead given to a rep by a routed or overridden prediction: with its outcome it becomes
/// a training example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoutingAssignment {
    pub assignment_id: String,
    pub prediction_id: String,
    pub lead_id: String,
    pub rep_id: String,
    pub origin: AssignmentOrigin,
    /// The lead as it was when assigned (what the model learns from).
    pub lead: super::config::LeadSnapshot,
    pub assigned_at: String,
    /// `pending` until the lead converts or the conversion window closes.
    pub outcome: String,
}
