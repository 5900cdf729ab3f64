//! Analytics responses.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A value and how many times it occurs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Count {
    pub key: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnalyticsTotals {
    /// Qualified leads (merged and disqualified ones not counted).
    pub leads: u64,
    /// Qualified leads with an event in the last 7 days.
    pub active_leads_7d: u64,
    /// Mean stored score of the qualified leads.
    pub average_score: f64,
    /// Leads a hard_disqualify rule disqualifies.
    pub disqualified_leads: u64,
    /// Engagement events (server timeline entries not counted).
    pub events: u64,
    pub events_24h: u64,
}

/// `GET /v1/analytics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Analytics {
    pub totals: AnalyticsTotals,
    pub by_channel: Vec<Count>,
    /// Engagement events per event type, most frequent first.
    pub by_type: Vec<Count>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventCounts {
    pub last_24h: u64,
    pub last_7d: u64,
    pub last_30d: u64,
    pub all: u64,
}

/// The last 24 hours of `GET /v1/analytics/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LastDay {
    /// Engagement events that occurred in the last 24 hours.
    pub events: u64,
    /// Leads with at least one of them.
    pub leads: u64,
}

/// `GET /v1/analytics/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventStats {
    pub last_24h: LastDay,
    pub counts: EventCounts,
    /// The ten most frequent event types.
    pub top_events: Vec<Count>,
}

/// One row of `GET /v1/analytics/top-leads`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TopLead {
    pub lead_id: String,
    pub score: f64,
    pub owner_name: Option<String>,
    pub last_event_at: Option<String>,
    pub last_event_type: Option<String>,
}

/// One row of `GET /v1/analytics/recent-gains`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreGain {
    pub lead_id: String,
    /// Sum of the primary ruleset's score changes recorded in the window.
    pub gain: f64,
    pub events: u64,
    pub score: f64,
}

/// `?limit=` (1–100, default 10) and, for gains, `?hours=` (1–720, default 24).
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TopParams {
    pub limit: Option<u32>,
    pub hours: Option<u32>,
}

impl TopParams {
    /// `(limit, hours)` checked.
    pub fn validate(self) -> Result<(u32, u32), crate::DomainError> {
        let limit = self.limit.unwrap_or(10);
        if !(1..=100).contains(&limit) {
            return Err(crate::DomainError::invalid("limit", "must be 1-100"));
        }
        let hours = self.hours.unwrap_or(24);
        if !(1..=720).contains(&hours) {
            return Err(crate::DomainError::invalid("hours", "must be 1-720"));
        }
        Ok((limit, hours))
    }
}
