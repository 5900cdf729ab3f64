//! Deals (the OPPORTUNITY entity): what a lead's assignment may end in. A won deal is a
//! conversion outcome for the assignment of its lead.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{time, validate, DomainError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DealStatus {
    #[default]
    Open,
    Won,
    Lost,
}

/// Largest deal amount.
pub const MAX_AMOUNT: f64 = 1e13;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deal {
    pub deal_id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    pub name: String,
    /// The lead the deal came from (its assignment's outcome).
    pub lead_id: Option<String>,
    pub account_id: Option<String>,
    pub amount: Option<f64>,
    /// The pipeline stage, free text (default `new`).
    pub stage: String,
    /// A rep of the OU or an org member.
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
    pub status: DealStatus,
    /// When it was won or lost (set on closing unless given; cleared on reopening).
    pub closed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Deal {
    /// An open deal at stage `new` with no name, links or owner yet.
    pub fn new(org_id: &str, ou_id: &str, deal_id: &str, at: &str) -> Deal {
        Deal {
            deal_id: deal_id.to_string(),
            org_id: org_id.to_string(),
            unit_id: ou_id.to_string(),
            name: String::new(),
            lead_id: None,
            account_id: None,
            amount: None,
            stage: "new".into(),
            owner_id: None,
            owner_name: None,
            status: DealStatus::Open,
            closed_at: None,
            created_at: at.to_string(),
            updated_at: at.to_string(),
        }
    }
}

/// `POST /v1/deals` (`name` required) and `PATCH /v1/deals/{id}` (only the fields sent;
/// null clears `lead_id`, `account_id`, `amount`, `owner_id`, `closed_at`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealInput {
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub lead_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub account_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Option<f64>>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub stage: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<String>>,
    pub owner_name: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub status: Option<DealStatus>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[schema(value_type = Option<String>)]
    pub closed_at: Option<Option<String>>,
}

impl DealInput {
    /// Applies the checked fields to `deal` (owner and links are the caller's to check).
    /// `now` stamps `closed_at` when the deal closes without one.
    pub fn apply(&self, deal: &mut Deal, create: bool, now: &str) -> Result<()> {
        if create && self.name.is_none() {
            return Err(DomainError::invalid("name", "is required"));
        }
        if let Some(n) = &self.name {
            deal.name = validate::name("name", n, 1, 200)?;
        }
        if let Some(l) = &self.lead_id {
            deal.lead_id = l.clone();
        }
        if let Some(a) = &self.account_id {
            deal.account_id = a.clone();
        }
        if let Some(a) = self.amount {
            if let Some(v) = a {
                if !v.is_finite() || !(0.0..=MAX_AMOUNT).contains(&v) {
                    return Err(DomainError::invalid(
                        "amount",
                        "must be a number from 0 to 10,000,000,000,000",
                    ));
                }
            }
            deal.amount = a;
        }
        if let Some(s) = &self.stage {
            deal.stage = validate::name("stage", s, 1, 50)?;
        }
        let was_open = deal.status == DealStatus::Open;
        if let Some(s) = self.status {
            deal.status = s;
        }
        if let Some(c) = &self.closed_at {
            deal.closed_at = match c {
                Some(at) => {
                    let at = time::parse(at).ok_or_else(|| {
                        DomainError::invalid("closed_at", "must be an RFC 3339 time")
                    })?;
                    // a deal closes when it is decided: not later than now (a minute of
                    // clock skew allowed)
                    let latest = time::parse(now).map(|n| n + chrono::Duration::minutes(1));
                    if latest.is_some_and(|l| at > l) {
                        return Err(DomainError::invalid(
                            "closed_at",
                            "must not be in the future",
                        ));
                    }
                    Some(time::format(&at))
                }
                None => None,
            };
        }
        match deal.status {
            DealStatus::Open if matches!(self.closed_at, Some(Some(_))) => {
                return Err(DomainError::invalid(
                    "closed_at",
                    "an open deal has no closing time: set status won or lost with it",
                ))
            }
            DealStatus::Open => deal.closed_at = None,
            DealStatus::Won | DealStatus::Lost => {
                if deal.closed_at.is_none() || (was_open && self.closed_at.is_none()) {
                    deal.closed_at = Some(now.to_string());
                }
            }
        }
        Ok(())
    }
}

/// `GET /v1/deals` query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DealListParams {
    /// Page number, from 1 (default 1).
    pub page: Option<u32>,
    /// Deals per page, 1–500 (default 50).
    pub limit: Option<u32>,
    pub status: Option<DealStatus>,
    pub lead_id: Option<String>,
    pub account_id: Option<String>,
    pub owner_id: Option<String>,
    pub stage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DealPage {
    pub deals: Vec<Deal>,
    pub total: u64,
    pub page: u32,
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> Deal {
        Deal::new("o", "u", "dl_1", "")
    }

    fn input(v: serde_json::Value) -> DealInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn closing_stamps_closed_at_and_reopening_clears_it() {
        let mut d = blank();
        input(serde_json::json!({"name": "Big one", "amount": 1200.5}))
            .apply(&mut d, true, "2026-11-24T00:00:00Z")
            .unwrap();
        assert_eq!(d.closed_at, None);
        input(serde_json::json!({"status": "won"}))
            .apply(&mut d, false, "2026-11-25T00:00:00Z")
            .unwrap();
        assert_eq!(d.closed_at.as_deref(), Some("2026-11-25T00:00:00Z"));
        // an update that keeps it won keeps the time
        input(serde_json::json!({"stage": "signed"}))
            .apply(&mut d, false, "2026-11-26T00:00:00Z")
            .unwrap();
        assert_eq!(d.closed_at.as_deref(), Some("2026-11-25T00:00:00Z"));
        input(serde_json::json!({"status": "lost", "closed_at": "2026-11-20T10:00:00Z"}))
            .apply(&mut d, false, "2026-11-27T00:00:00Z")
            .unwrap();
        assert_eq!(d.closed_at.as_deref(), Some("2026-11-20T10:00:00.000000Z"));
        input(serde_json::json!({"status": "open"}))
            .apply(&mut d, false, "2026-11-28T00:00:00Z")
            .unwrap();
        assert_eq!(d.closed_at, None);
    }

    #[test]
    fn bad_fields_are_named() {
        let mut d = blank();
        for (v, field) in [
            (serde_json::json!({}), "name"),
            (serde_json::json!({"name": "x", "amount": -1}), "amount"),
            (serde_json::json!({"name": "x", "stage": ""}), "stage"),
            (
                serde_json::json!({"name": "x", "closed_at": "yesterday"}),
                "closed_at",
            ),
            (
                serde_json::json!({"name": "x", "status": "won", "closed_at": "2030-01-01T00:00:00Z"}),
                "closed_at",
            ),
            (
                serde_json::json!({"name": "x", "status": "open", "closed_at": "2026-11-20T10:00:00Z"}),
                "closed_at",
            ),
        ] {
            let e = input(v)
                .apply(&mut d, true, "2026-11-24T00:00:00Z")
                .unwrap_err();
            assert_eq!(e.details.unwrap()["field"], field);
        }
        assert!(
            serde_json::from_value::<DealInput>(serde_json::json!({"status": "maybe"})).is_err()
        );
    }
}
