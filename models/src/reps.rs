//! Sales reps: the people leads are routed to (Routeswit "Representatives"), with their
//! availability, capacity and routing attributes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::{validate, DomainError, Result};

/// Whether a rep takes new leads: only `AVAILABLE` reps under capacity are routed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RepStatus {
    #[default]
    Available,
    Busy,
    Away,
    Offline,
}

impl RepStatus {
    /// As the API writes it (`AVAILABLE`).
    pub fn as_str(self) -> &'static str {
        match self {
            RepStatus::Available => "AVAILABLE",
            RepStatus::Busy => "BUSY",
            RepStatus::Away => "AWAY",
            RepStatus::Offline => "OFFLINE",
        }
    }
}

/// Largest capacity (open assignments) a rep may have.
pub const MAX_CAPACITY: u32 = 100_000;
/// Largest routing weight.
pub const MAX_WEIGHT: u32 = 100;
/// Largest size of a rep's attributes as JSON.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

/// A stored rep; `open_assignments` is counted when read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rep {
    pub rep_id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub name: String,
    /// Unique in the organisation (lower-cased).
    pub email: String,
    pub status: RepStatus,
    /// Most open assignments (leads it owns) before routing skips it.
    pub capacity: u32,
    /// Relative share in weighted distribution (0–100, default 1).
    pub weight: u32,
    /// Free routing attributes: territory, languages, segments, …
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    /// The org member this rep is, if any.
    pub member_id: Option<String>,
    /// Leads of the OU it owns now (counted live).
    #[serde(default)]
    pub open_assignments: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl Rep {
    /// A rep with the defaults (AVAILABLE, capacity 50, weight 1) and no name yet.
    pub fn new(org_id: &str, ou_id: &str, rep_id: &str, at: &str) -> Rep {
        Rep {
            rep_id: rep_id.to_string(),
            org_id: org_id.to_string(),
            unit_id: ou_id.to_string(),
            name: String::new(),
            email: String::new(),
            status: RepStatus::Available,
            capacity: DEFAULT_CAPACITY,
            weight: 1,
            attributes: Map::new(),
            member_id: None,
            open_assignments: 0,
            created_at: at.to_string(),
            updated_at: at.to_string(),
        }
    }

    /// Whether routing may give it a lead now.
    pub fn eligible(&self) -> bool {
        self.status == RepStatus::Available && self.open_assignments < u64::from(self.capacity)
    }
}

/// `POST /v1/reps` (every field) and `PATCH /v1/reps/{id}` (only the fields sent;
/// `member_id: null` unlinks; `null` for any other field is refused).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepInput {
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub status: Option<RepStatus>,
    /// 0–100,000 (default 50).
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub capacity: Option<u32>,
    /// 0–100 (default 1).
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub weight: Option<u32>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub member_id: Option<Option<String>>,
}

/// Default capacity of a new rep.
pub const DEFAULT_CAPACITY: u32 = 50;

impl RepInput {
    /// Applies the input to `rep` (a new rep when `create`), checking every field sent.
    pub fn apply(self, rep: &mut Rep, create: bool) -> Result<()> {
        if create {
            if self.name.is_none() {
                return Err(DomainError::invalid("name", "is required"));
            }
            if self.email.is_none() {
                return Err(DomainError::invalid("email", "is required"));
            }
        }
        if let Some(n) = self.name {
            rep.name = validate::name("name", &n, 1, 100)?;
        }
        if let Some(e) = self.email {
            rep.email = validate::email("email", &e)?;
        }
        if let Some(s) = self.status {
            rep.status = s;
        }
        if let Some(c) = self.capacity {
            if c > MAX_CAPACITY {
                return Err(DomainError::invalid(
                    "capacity",
                    format!("must be 0-{MAX_CAPACITY}"),
                ));
            }
            rep.capacity = c;
        }
        if let Some(w) = self.weight {
            if w > MAX_WEIGHT {
                return Err(DomainError::invalid(
                    "weight",
                    format!("must be 0-{MAX_WEIGHT}"),
                ));
            }
            rep.weight = w;
        }
        if let Some(a) = self.attributes {
            let size = serde_json::to_vec(&a)
                .map(|v| v.len())
                .unwrap_or(usize::MAX);
            if size > MAX_ATTRIBUTES_BYTES {
                return Err(DomainError::invalid(
                    "attributes",
                    format!("at most {} KB", MAX_ATTRIBUTES_BYTES / 1024),
                ));
            }
            rep.attributes = a;
        }
        if let Some(m) = self.member_id {
            rep.member_id = m;
        }
        Ok(())
    }
}

/// `GET /v1/reps` query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RepListParams {
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Reps per page, 1–500 (default 50).
    pub limit: Option<u32>,
    pub status: Option<RepStatus>,
    /// Name or email containing this text (any case).
    pub search: Option<String>,
    /// Only reps routing may give a lead now (available and under capacity).
    pub eligible: Option<bool>,
}

/// A page of reps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RepPage {
    pub reps: Vec<Rep>,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> Rep {
        Rep::new("o", "u", "rep_1", "")
    }

    #[test]
    fn create_needs_name_and_email_and_checks_limits() {
        let mut r = blank();
        let e = RepInput::default().apply(&mut r, true).unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "name");
        let input = |v: serde_json::Value| serde_json::from_value::<RepInput>(v).unwrap();
        let e = input(serde_json::json!({"name": "A", "email": "nope"}))
            .apply(&mut r, true)
            .unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "email");
        let e = input(serde_json::json!({"capacity": 100_001}))
            .apply(&mut r, false)
            .unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "capacity");
        input(serde_json::json!({"name": " Ann ", "email": "Ann@X.io", "status": "BUSY"}))
            .apply(&mut r, true)
            .unwrap();
        assert_eq!((r.name.as_str(), r.email.as_str()), ("Ann", "ann@x.io"));
        assert_eq!(r.status, RepStatus::Busy);
        assert!(serde_json::from_value::<RepInput>(serde_json::json!({"status": "GONE"})).is_err());
    }

    #[test]
    fn eligible_means_available_and_under_capacity() {
        let mut r = blank();
        r.capacity = 2;
        r.open_assignments = 1;
        assert!(r.eligible());
        r.open_assignments = 2;
        assert!(!r.eligible());
        r.open_assignments = 0;
        r.status = RepStatus::Offline;
        assert!(!r.eligible());
    }
}
