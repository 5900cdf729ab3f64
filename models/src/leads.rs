//! Leads as the API shows them, and the checks on lead input.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::{ids, DomainError};

/// A lead (kenbun field names). `score` is the highest current score across the OU's
/// rulesets; `scores` has each ruleset's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
    pub metadata: Map<String, Value>,
    pub score: f64,
    pub scores: BTreeMap<String, f64>,
    pub last_event_at: Option<String>,
    pub last_event_type: Option<String>,
    pub score_reset_at: Option<String>,
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
        crate::events::check_metadata_size(&metadata)?;
        let account_id = match self.account_id {
            Some(a) if !ids::is_plausible_id(&a) => {
                return Err(DomainError::invalid("account_id", "not a valid account id"))
            }
            other => other,
        };
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
}
