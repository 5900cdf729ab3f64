//! Inactivity decay rules: "after `inactive_for` `unit`s without activity, take `decrease`
//! points off". A rule applies once for every full period of inactivity: a lead idle for
//! 90 days under a 30-day rule loses its `decrease` at day 30, 60 and 90. Activity is any
//! event of the lead that is neither suppressed, nor flagged inorganic, nor dated before
//! the last score reset; an event at exactly the end of a period prevents that period's
//! deduction. The engine derives the deductions from the lead's events alone (see
//! [`crate::scoring::LeadBook::deductions`]), so live scores, rescoring and explanations
//! agree; the scheduler only wakes a lead when its next deduction falls due, so it shows
//! on the timeline and the bus at once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::DomainError;

/// The longest inactivity period a rule may name: two years.
pub const MAX_PERIOD_HOURS: i64 = 2 * 365 * 24;
/// The largest `decrease`.
pub const MAX_DECREASE: i64 = 1_000_000;
/// At most this many deductions of one rule within one stretch of inactivity; a lead idle
/// for longer stops losing points to that rule (with negative scores disallowed,
/// deductions usually stop earlier, once the score is zero).
pub const MAX_STEPS_PER_GAP: u32 = 10_000;
/// At most this many decay rules per OU.
pub const MAX_RULES: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecayUnit {
    Hours,
    Days,
    Weeks,
}

impl DecayUnit {
    pub fn hours(self) -> i64 {
        match self {
            DecayUnit::Hours => 1,
            DecayUnit::Days => 24,
            DecayUnit::Weeks => 24 * 7,
        }
    }
}

/// A stored score decay rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DecayRule {
    pub decay_id: String,
    pub org_id: String,
    #[serde(alias = "ou_id")]
    pub unit_id: String,
    /// How many `unit`s of inactivity each deduction waits for.
    pub inactive_for: u32,
    pub unit: DecayUnit,
    /// Points taken off per period of inactivity.
    pub decrease: u32,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

/// `POST /v1/decays` (all required) and `PUT /v1/decays/{id}` (all optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecayRuleInput {
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub inactive_for: Option<i64>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub unit: Option<DecayUnit>,
    #[serde(default, deserialize_with = "crate::validate::not_null")]
    pub decrease: Option<i64>,
}

impl DecayRuleInput {
    /// Applies the input to `r` (a new rule when `create`): `inactive_for` ≥ 1 with the
    /// period at most two years, `decrease` 1–1,000,000.
    pub fn apply(&self, r: &mut DecayRule, create: bool) -> Result<(), DomainError> {
        let required = |field: &str| DomainError::invalid(field, "is required");
        if create {
            if self.inactive_for.is_none() {
                return Err(required("inactive_for"));
            }
            if self.unit.is_none() {
                return Err(required("unit"));
            }
            if self.decrease.is_none() {
                return Err(required("decrease"));
            }
        }
        let unit = self.unit.unwrap_or(r.unit);
        let inactive_for = self.inactive_for.unwrap_or(i64::from(r.inactive_for));
        if inactive_for < 1 || inactive_for.saturating_mul(unit.hours()) > MAX_PERIOD_HOURS {
            return Err(DomainError::invalid(
                "inactive_for",
                "must be at least 1 and the period at most 2 years (17520 hours, 730 days, 104 weeks)",
            ));
        }
        if let Some(d) = self.decrease {
            if !(1..=MAX_DECREASE).contains(&d) {
                return Err(DomainError::invalid(
                    "decrease",
                    "must be between 1 and 1000000",
                ));
            }
            r.decrease = d as u32;
        }
        r.unit = unit;
        r.inactive_for = inactive_for as u32;
        Ok(())
    }
}

/// A decay rule as the engine applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct InactivityDecay {
    pub decay_id: String,
    pub period: chrono::Duration,
    pub decrease: f64,
}

impl DecayRule {
    pub fn compile(&self) -> InactivityDecay {
        InactivityDecay {
            decay_id: self.decay_id.clone(),
            period: chrono::Duration::hours(i64::from(self.inactive_for) * self.unit.hours()),
            decrease: f64::from(self.decrease),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> DecayRule {
        DecayRule {
            decay_id: "dc_1".into(),
            org_id: "org".into(),
            unit_id: "ou".into(),
            inactive_for: 1,
            unit: DecayUnit::Days,
            decrease: 1,
            created_at: String::new(),
            updated_at: String::new(),
            created_by: None,
            updated_by: None,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let field = |input: DecayRuleInput, create: bool| {
            input
                .apply(&mut blank(), create)
                .unwrap_err()
                .details
                .and_then(|d| d.get("field").cloned())
                .and_then(|f| f.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        let ok = DecayRuleInput {
            inactive_for: Some(30),
            unit: Some(DecayUnit::Days),
            decrease: Some(25),
        };
        assert!(ok.apply(&mut blank(), true).is_ok());
        let without = |f: fn(&mut DecayRuleInput)| {
            let mut i = ok.clone();
            f(&mut i);
            i
        };
        assert_eq!(field(without(|i| i.unit = None), true), "unit");
        assert_eq!(field(without(|i| i.decrease = Some(0)), true), "decrease");
        assert_eq!(
            field(without(|i| i.inactive_for = Some(0)), true),
            "inactive_for"
        );
        // 105 weeks is over two years; 104 is not
        let weeks = |n| DecayRuleInput {
            inactive_for: Some(n),
            unit: Some(DecayUnit::Weeks),
            decrease: None,
        };
        assert_eq!(field(weeks(105), false), "inactive_for");
        assert!(weeks(104).apply(&mut blank(), false).is_ok());
        // a unit change alone is checked against the stored amount
        let mut r = blank();
        r.inactive_for = 700;
        let unit_only = DecayRuleInput {
            unit: Some(DecayUnit::Weeks),
            ..Default::default()
        };
        assert!(unit_only.apply(&mut r, false).is_err());
        assert_eq!(r.unit, DecayUnit::Days, "a refused change changes nothing");
    }

    #[test]
    fn periods_compile_to_hours() {
        let mut r = blank();
        r.inactive_for = 2;
        r.unit = DecayUnit::Weeks;
        assert_eq!(r.compile().period, chrono::Duration::days(14));
    }
}
